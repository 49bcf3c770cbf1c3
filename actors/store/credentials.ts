import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { credentialRecordSchema, type CredentialRecord } from "../../model/credentials.ts";
import { AlreadyExistsError, InvalidStateError, NotFoundError } from "../../model/errors.ts";
import { followKvRecords, type FollowKvEvent } from "../nats/follow-kv.ts";
import { fromStore } from "./store-errors.ts";

/** KV `credentials`: one whole record per credential name (model/credentials.ts). */

const isWrongLastSequence = (error: unknown) => error instanceof JetStreamApiError && error.code === 10071;

/** Every credential record, and the keys whose record does not parse (never admitted; `credentials ls` names them). */
export async function readCredentials(kv: KV): Promise<{ credentials: CredentialRecord[]; invalid: Array<{ key: string; error: string }> }> {
  return await fromStore("KV credentials", async () => {
    const credentials: CredentialRecord[] = [];
    const invalid: Array<{ key: string; error: string }> = [];
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry?.operation !== "PUT") continue;
      try {
        credentials.push(parseCredential(key, entry.string()));
      } catch (error) {
        invalid.push({ key, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return { credentials: credentials.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), invalid };
  });
}

function parseCredential(key: string, text: string): CredentialRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidStateError(`KV credentials, key ${key}: not JSON`, { hint: "revoke it again with `ployzctl credentials revoke`" });
  }
  const parsed = credentialRecordSchema.safeParse(json);
  if (!parsed.success || parsed.data.name !== key) {
    throw new InvalidStateError(`KV credentials, key ${key}: not a credential record (${parsed.success ? "its name differs from its key" : parsed.error.issues[0]!.message})`);
  }
  return parsed.data;
}

/** Stores a new credential; a name ever used (even revoked) is refused. */
export async function createCredential(kv: KV, record: CredentialRecord): Promise<void> {
  try {
    await kv.create(record.name, JSON.stringify(credentialRecordSchema.parse(record)));
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const existing = await kv.get(record.name);
    const state = existing?.operation === "PUT" ? parseCredential(record.name, existing.string()) : undefined;
    throw new AlreadyExistsError(`credential ${record.name} already exists${state?.revokedAt ? ` (revoked at ${state.revokedAt})` : ` (role ${state?.role ?? "?"})`}`, {
      hint: "names are never reused: choose another one (`ployzctl credentials ls` lists them)",
    });
  }
}

/** Marks a credential revoked (compare-and-set on its revision); revoking one already revoked is a no-op. */
export async function revokeCredential(kv: KV, name: string, by: string, now: Date): Promise<CredentialRecord> {
  for (let attempt = 1; ; attempt++) {
    const entry = await kv.get(name);
    if (entry?.operation !== "PUT") throw new NotFoundError(`no credential ${name}`, { hint: "`ployzctl credentials ls` lists them" });
    const record = parseCredential(name, entry.string());
    if (record.revokedAt) return record;
    const revoked: CredentialRecord = { ...record, revokedAt: now.toISOString(), revokedBy: by };
    try {
      await kv.update(name, JSON.stringify(revoked), entry.revision);
      return revoked;
    } catch (error) {
      if (!isWrongLastSequence(error) || attempt >= 5) throw error;
    }
  }
}

/**
 * Follows KV `credentials` (`followKvRecords`): the whole set after the load and after each change. A
 * record that does not parse is reported (INVALID) and left out of the set, so its key is not
 * admitted (it may have been a revocation).
 */
export function followCredentials(nc: NatsConnection, kv: KV, emit: (event: FollowKvEvent<ReadonlyMap<string, CredentialRecord>>) => void): () => void {
  return followKvRecords(nc, kv, credentialRecordSchema, (record) => record.name, emit);
}
