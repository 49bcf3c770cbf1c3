import type { NatsConnection } from "@nats-io/transport-node";
import { followKvRecords, type FollowKvEvent } from "../nats/follow-kv.ts";
import type { KV } from "@nats-io/kv";
import { MachineRemovedError, InvalidStateError } from "../../model/errors.ts";
import { machineRecordSchema, type MachineRecord } from "../../model/machine.ts";
import { compareText } from "../../model/compare.ts";

export interface InvalidRecord {
  key: string;
  error: string;
}

/** Every membership record; records that do not parse are reported, never half-used. */
export async function readMachines(machines: KV): Promise<{ machines: MachineRecord[]; invalid: InvalidRecord[] }> {
  const valid: MachineRecord[] = [];
  const invalid: InvalidRecord[] = [];
  const keys = await machines.keys();
  for await (const key of keys) {
    const entry = await machines.get(key);
    if (!entry || entry.operation !== "PUT") continue;
    const parsed = parseMachineRecord(key, entry.string());
    if ("record" in parsed) valid.push(parsed.record);
    else invalid.push(parsed);
  }
  valid.sort((a, b) => compareText(a.id, b.id));
  return { machines: valid, invalid };
}

/** Parses one stored membership record; the key must match the id inside. */
export function parseMachineRecord(key: string, text: string): { record: MachineRecord } | InvalidRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { key, error: "not valid JSON" };
  }
  const parsed = machineRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { key, error: `${issue.path.join(".") || "(top level)"}: ${issue.message}` };
  }
  if (parsed.data.id !== key) return { key, error: `record id ${parsed.data.id} does not match its key` };
  return { record: parsed.data };
}

/**
 * Registers this machine (Intent). Created if new, refreshed if it is the same identity; a
 * removed machine, or another identity under the same id, is refused and nothing is written.
 */
export async function registerMachine(machines: KV, record: MachineRecord): Promise<MachineRecord> {
  const entry = await machines.get(record.id);
  if (!entry || entry.operation !== "PUT") {
    await machines.create(record.id, JSON.stringify(record));
    return record;
  }
  const parsed = parseMachineRecord(record.id, entry.string());
  if (!("record" in parsed)) {
    throw new InvalidStateError(`the membership record of ${record.id} in the store is invalid (${parsed.error})`, {
      hint: "inspect KV machines; ployzd will not overwrite a record it cannot read",
    });
  }
  const existing = parsed.record;
  if (existing.state === "removed") {
    throw new MachineRemovedError(`machine ${record.id} was removed from the cluster and cannot come back with its old identity`, {
      hint: "join it again as a new machine (new data directory)",
    });
  }
  if (existing.natsUser !== record.natsUser) {
    throw new InvalidStateError(`machine id ${record.id} is registered with another NATS identity (${existing.natsUser.slice(0, 10)}…)`, {
      hint: "two machines share this id, or this one lost its key; join as a new machine",
    });
  }
  const updated: MachineRecord = { ...existing, ...record, joinedAt: existing.joinedAt };
  await machines.update(record.id, JSON.stringify(updated), entry.revision);
  return updated;
}

/**
 * Follows KV `machines` (`followKvRecords`): the whole membership after the load and after each change.
 * A record that does not parse is left out and reported (INVALID); `machine ls` names it.
 */
export function followMachines(nc: NatsConnection, machines: KV, emit: (event: FollowKvEvent<ReadonlyMap<string, MachineRecord>>) => void): () => void {
  return followKvRecords(nc, machines, machineRecordSchema, (record) => record.id, emit);
}
