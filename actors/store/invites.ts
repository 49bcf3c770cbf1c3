import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { InviteRefusedError, InvalidStateError } from "../../model/errors.ts";
import { inviteRecordSchema, inviteRefusal, type InviteRecord } from "../../model/invite.ts";
import { followKvRecords, type FollowKvEvent } from "../nats/follow-kv.ts";

/** KV `invites`: one whole record per invite id (model/invite.ts). */

const isWrongLastSequence = (error: unknown) => error instanceof JetStreamApiError && error.code === 10071;

function parseInvite(key: string, text: string): InviteRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidStateError(`KV invites, key ${key}: not JSON`, { cause: error });
  }
  const parsed = inviteRecordSchema.safeParse(json);
  if (!parsed.success || parsed.data.id !== key) {
    throw new InvalidStateError(`KV invites, key ${key}: not an invite record (${parsed.success ? "its id differs from its key" : parsed.error.issues[0]!.message})`);
  }
  return parsed.data;
}

/** Stores a new invite (ids are random: one that exists is a bug, refused). */
export async function createInvite(kv: KV, record: InviteRecord): Promise<void> {
  await kv.create(record.id, JSON.stringify(inviteRecordSchema.parse(record)));
}

/** The invite with this id, or undefined when the cluster never made it (a forged token). */
export async function readInvite(kv: KV, id: string): Promise<{ record: InviteRecord; revision: number } | undefined> {
  const entry = await kv.get(id);
  if (entry?.operation !== "PUT") return undefined;
  return { record: parseInvite(id, entry.string()), revision: entry.revision };
}

/**
 * Marks the invite used by `machineId` — compare-and-set on the revision it was read at, so of two
 * joins with one token exactly one wins; the other is refused as "already used".
 */
export async function consumeInvite(kv: KV, read: { record: InviteRecord; revision: number }, machineId: string, now: Date): Promise<InviteRecord> {
  const refusal = inviteRefusal(read.record, now.getTime());
  if (refusal) throw new InviteRefusedError(refusal);
  const used: InviteRecord = { ...read.record, usedAt: now.toISOString(), usedBy: machineId };
  try {
    await kv.update(read.record.id, JSON.stringify(used), read.revision);
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const again = await readInvite(kv, read.record.id);
    throw new InviteRefusedError(again ? (inviteRefusal(again.record, now.getTime()) ?? `invite ${read.record.id} changed while it was being used: ask for a new one`) : `invite ${read.record.id} is gone`);
  }
  return used;
}

/** Follows KV `invites` (`followKvRecords`): every record after the load and after each change. */
export function followInvites(nc: NatsConnection, kv: KV, emit: (event: FollowKvEvent<ReadonlyMap<string, InviteRecord>>) => void): () => void {
  return followKvRecords(nc, kv, inviteRecordSchema, (record) => record.id, emit);
}
