import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { commitSchema, namespaceRecordSchema, type NamespaceRecord, type StoredCommit } from "../../model/commit.ts";
import { InvalidStateError, NotFoundError } from "../../model/errors.ts";
import { instanceRecordSchema, type InstanceRecord } from "../../model/instance.ts";
import { readSubject } from "../store/read-subject.ts";
import { DEFAULT_REGION_ROLE, regionRecordSchema, type RegionRecord, type RegionRole } from "../../model/region.ts";

const commitSubject = (namespace: string) => `commits.${namespace}`;

/** The namespace's head commit, or null before its first deploy. Invalid records are refused. */
export async function readHead(jsm: JetStreamManager, namespace: string): Promise<StoredCommit | null> {
  let msg;
  try {
    msg = await jsm.streams.getMessage("COMMITS", { last_by_subj: commitSubject(namespace) });
  } catch {
    return null;
  }
  if (!msg) return null;
  return parseCommit(msg.seq, msg.json());
}

/** Every commit of a namespace, oldest first (append-only history). */
export async function readHistory(js: JetStreamClient, jsm: JetStreamManager, namespace: string): Promise<StoredCommit[]> {
  const messages = await readSubject(js, jsm, "COMMITS", commitSubject(namespace));
  return messages.map((m) => parseCommit(m.seq, m.json));
}

/** One commit by sequence; it must belong to the namespace. */
export async function readCommit(jsm: JetStreamManager, namespace: string, seq: number): Promise<StoredCommit> {
  const msg = await jsm.streams.getMessage("COMMITS", { seq }).catch(() => null);
  if (!msg || msg.subject !== commitSubject(namespace)) throw new NotFoundError(`namespace ${namespace} has no commit ${seq}`, { hint: `see \`ployzctl history -n ${namespace}\`` });
  return parseCommit(msg.seq, msg.json());
}

function parseCommit(seq: number, json: unknown): StoredCommit {
  const parsed = commitSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidStateError(`commit ${seq} in stream COMMITS is invalid (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}); refusing to use it`);
  }
  return { ...parsed.data, seq };
}

/** The namespace's record (authority and head), if it has one. */
export async function readNamespace(namespaces: KV, namespace: string): Promise<NamespaceRecord | undefined> {
  const entry = await namespaces.get(namespace);
  if (entry?.operation !== "PUT") return undefined;
  const parsed = namespaceRecordSchema.safeParse(entry.json());
  if (!parsed.success) throw new InvalidStateError(`the record of namespace ${namespace} in KV namespaces is invalid; refusing to use it`);
  return parsed.data;
}

/** Every namespace record; unreadable ones are reported by key. */
export async function readNamespaces(namespaces: KV): Promise<{ namespaces: NamespaceRecord[]; invalid: string[] }> {
  const out: NamespaceRecord[] = [];
  const invalid: string[] = [];
  for await (const key of await namespaces.keys()) {
    const entry = await namespaces.get(key);
    if (entry?.operation !== "PUT") continue;
    const parsed = namespaceRecordSchema.safeParse(entry.json());
    if (parsed.success) out.push(parsed.data);
    else invalid.push(key);
  }
  return { namespaces: out.sort((a, b) => a.name.localeCompare(b.name)), invalid };
}

/** Committed instances, of one namespace or of all. An invalid record is refused, loudly. */
export async function readInstances(instances: KV, namespace?: string): Promise<InstanceRecord[]> {
  const out: InstanceRecord[] = [];
  const keys = await instances.keys(namespace ? `${namespace}.>` : undefined);
  for await (const key of keys) {
    const entry = await instances.get(key);
    if (entry?.operation !== "PUT") continue;
    const parsed = instanceRecordSchema.safeParse(entry.json());
    if (!parsed.success) throw new InvalidStateError(`instance record ${key} in KV instances is invalid; refusing to plan on it`, { hint: "inspect or delete that key" });
    out.push(parsed.data);
  }
  return out.sort((a, b) => a.service.localeCompare(b.service) || a.slot - b.slot);
}

/** Region roles; regions without a record are `compute`. */
export async function readRegions(regions: KV): Promise<RegionRecord[]> {
  const out: RegionRecord[] = [];
  for await (const key of await regions.keys()) {
    const entry = await regions.get(key);
    if (entry?.operation !== "PUT") continue;
    const parsed = regionRecordSchema.safeParse(entry.json());
    if (!parsed.success) throw new InvalidStateError(`region record ${key} in KV regions is invalid; refusing to plan on it`);
    out.push(parsed.data);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function regionRoles(records: RegionRecord[]): Record<string, RegionRole> {
  return Object.fromEntries(records.map((r) => [r.name, r.role ?? DEFAULT_REGION_ROLE]));
}
