import { parseJsonOrUndefined } from "../../model/json.ts";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { namespaceRecordSchema, type NamespaceRecord } from "../../model/commit.ts";
import { FencedError, InvalidStateError } from "../../model/errors.ts";
import { namespaceInstancesSchema, type InstanceRecord, type NamespaceInstances } from "../../model/instance.ts";
import { routingRecordSchema, routingSubject, type RoutingRecord } from "../../model/routing.ts";
import { readLastMessage } from "../store/read-subject.ts";
import { fromStore, storeUnavailable } from "../store/store-errors.ts";

/**
 * The records derived from a namespace's head commit, read and written whole. Every write is a
 * compare-and-set that refuses to replace a record derived from a newer head (FencedError), so a
 * stale writer — a coordinator paused past its lease — changes nothing, whatever it was doing.
 */

const WRONG_LAST_SEQUENCE = 10071;
const MAX_ATTEMPTS = 4;

/** A KV value with the revision it was read at (0: absent). */
interface Versioned<T> {
  value: T | null;
  revision: number;
}

// ---- instance records: KV `instances`, key `<namespace>` ----

export async function readInstancesDoc(instances: KV, namespace: string): Promise<Versioned<NamespaceInstances>> {
  const entry = await fromStore(`the instance records of ${namespace}`, () => instances.get(namespace));
  if (entry?.operation !== "PUT") return { value: null, revision: entry?.revision ?? 0 };
  const parsed = namespaceInstancesSchema.safeParse(parseJsonOrUndefined(entry.string()));
  if (!parsed.success) throw new InvalidStateError(`the instance records of namespace ${namespace} (KV instances, key ${namespace}) are invalid; refusing to use them`, { hint: "they are derived: `ployzctl deploy` of the namespace rewrites them" });
  return { value: parsed.data, revision: entry.revision };
}

/** Committed instances, of one namespace or of all (derived records; an invalid one is refused, loudly). */
export async function readInstances(instances: KV, namespace?: string): Promise<InstanceRecord[]> {
  if (namespace) return (await readInstancesDoc(instances, namespace)).value?.instances ?? [];
  const keys = await fromStore("the keys of KV instances", async () => {
    const out: string[] = [];
    for await (const key of await instances.keys()) out.push(key);
    return out;
  });
  const docs = await Promise.all(keys.sort().map((key) => readInstancesDoc(instances, key)));
  return docs.flatMap((d) => d.value?.instances ?? []);
}

/** Writes the instance records of a head, unless the store holds records of a newer head. */
export async function writeInstancesDoc(instances: KV, doc: NamespaceInstances): Promise<void> {
  await compareAndSet(instances, doc.namespace, `the instance records of ${doc.namespace}`, doc, doc.commitSeq, (stored) =>
    namespaceInstancesSchema.safeParse(stored).data?.commitSeq,
  );
}

// ---- namespace record: KV `namespaces`, key `<namespace>` ----

export async function readNamespaceRecord(namespaces: KV, namespace: string): Promise<NamespaceRecord | null> {
  const entry = await fromStore(`the record of namespace ${namespace}`, () => namespaces.get(namespace));
  if (entry?.operation !== "PUT") return null;
  const parsed = namespaceRecordSchema.safeParse(parseJsonOrUndefined(entry.string()));
  if (!parsed.success) throw new InvalidStateError(`the record of namespace ${namespace} in KV namespaces is invalid; refusing to use it`, { hint: "it is derived: `ployzctl deploy` of the namespace rewrites it" });
  return parsed.data;
}

export async function writeNamespaceRecord(namespaces: KV, record: NamespaceRecord): Promise<void> {
  await compareAndSet(namespaces, record.name, `the record of namespace ${record.name}`, record, record.headSeq, (stored) => namespaceRecordSchema.safeParse(stored).data?.headSeq);
}

/**
 * Create-or-update `key` with `value` derived from head `seq`, refusing when the stored value says
 * it was derived from a newer head. A stored value that does not parse is replaced (it is derived:
 * the head is the truth).
 */
async function compareAndSet<T>(kv: KV, key: string, what: string, value: T, seq: number, storedSeq: (json: unknown) => number | undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const entry = await fromStore(what, () => kv.get(key));
    const current = entry?.operation === "PUT" ? storedSeq(parseJsonOrUndefined(entry.string())) : undefined;
    if (current !== undefined && current > seq) throw superseded(what, seq, current);
    try {
      if (entry) await kv.update(key, JSON.stringify(value), entry.revision);
      else await kv.create(key, JSON.stringify(value));
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) || attempt >= MAX_ATTEMPTS) throw storeUnavailable(error, what);
    }
  }
}

// ---- routing records: stream ROUTING, subject `routing.<ns>.<service>` ----

/** The last routing record of one service, with its stream sequence; `record` null when it does not parse. */
export interface StoredRouting {
  service: string;
  seq: number;
  record: RoutingRecord | null;
  /** Why it does not parse. */
  invalid?: string;
}

/** The last routing record of every service of the namespace (deleted ones included, invalid ones reported). */
export async function readNamespaceRouting(jsm: JetStreamManager, namespace: string): Promise<StoredRouting[]> {
  const info = await fromStore("stream ROUTING", () => jsm.streams.info("ROUTING", { subjects_filter: `routing.${namespace}.>` }));
  const subjects = Object.keys(info.state.subjects ?? {}).sort();
  const out: StoredRouting[] = [];
  for (const subject of subjects) {
    const msg = await readLastMessage(jsm, "ROUTING", subject);
    if (!msg) continue; // purged between the two reads
    const service = subject.slice(`routing.${namespace}.`.length);
    const parsed = routingRecordSchema.safeParse(msg.json);
    out.push(parsed.success ? { service, seq: msg.seq, record: parsed.data } : { service, seq: msg.seq, record: null, invalid: parsed.error.issues[0]?.message ?? "invalid" });
  }
  return out;
}

/**
 * Appends a routing record after the service's last one (expected last subject sequence),
 * refusing when the last one was derived from a newer head. Returns the sequence it landed at.
 */
export async function publishRouting(js: JetStreamClient, jsm: JetStreamManager, record: RoutingRecord, expectedSeq: number): Promise<number> {
  const subject = routingSubject(record.namespace, record.service);
  const what = `the routing record of ${record.namespace}/${record.service}`;
  let expected = expectedSeq;
  for (let attempt = 1; ; attempt++) {
    try {
      return (await js.publish(subject, JSON.stringify(record), { expect: { lastSubjectSequence: expected } })).seq;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) || attempt >= MAX_ATTEMPTS) throw storeUnavailable(error, what);
    }
    const last = await readLastMessage(jsm, "ROUTING", subject);
    const stored = last ? routingRecordSchema.safeParse(last.json).data : undefined;
    if (stored && stored.commitSeq > record.commitSeq) throw superseded(what, record.commitSeq, stored.commitSeq);
    expected = last?.seq ?? 0;
  }
}

function superseded(what: string, seq: number, newer: number): FencedError {
  return new FencedError(`${what} derived from commit ${seq} not written: the store holds them from commit ${newer}`, {
    hint: "a newer commit of the namespace exists; it is the one rolled forward",
  });
}
