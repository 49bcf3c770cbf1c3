import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { InvalidStateError } from "../model/errors.ts";
import { noticeOnStderr, retryingJsApi } from "./nats/js-api-retry.ts";
import {
  JETSTREAM_DOMAIN,
  SCHEMA_VERSION,
  STORE_LAYOUT,
  type BucketSpec,
  type SchemaRecord,
  type StreamSpec,
} from "../model/store-layout.ts";

export type BucketName = "meta" | "machines" | "regions" | "namespaces" | "instances" | "leases" | "locks" | "claims" | "secrets" | "tls" | "credentials" | "policy" | "invites" | "mesh";

/** Handles on the control-plane store. */
export interface Store {
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: Record<BucketName, KV>;
  images: ObjectStore;
  /** The cluster's id (KV meta, key `cluster`), made when the store was first declared. */
  clusterId: string;
}

/**
 * JetStream handles for the cluster's domain (every client names it, so leaf nodes work too). A
 * request nobody answers for a moment (nats-server reloading) is asked again, each wait reported
 * through `notice` (see retryingJsApi).
 */
export async function jetstreamHandles(nc: NatsConnection, notice: (message: string) => void = noticeOnStderr) {
  const retrying = retryingJsApi(nc, notice);
  const js = jetstream(retrying, { domain: JETSTREAM_DOMAIN, timeout: 5_000 });
  const jsm = await jetstreamManager(retrying, { domain: JETSTREAM_DOMAIN, timeout: 5_000 });
  return { js, jsm };
}

/**
 * Declares every stream, bucket and object store of STORE_LAYOUT. Idempotent: what exists is
 * kept (and its settings brought in line), what is missing is created. Refuses a store written
 * by a newer schema than this binary knows.
 */
export async function declareStore(nc: NatsConnection, options: { replicas: number; declaredBy: string; notice?: (message: string) => void }): Promise<Store> {
  const { js, jsm } = await jetstreamHandles(nc, options.notice);
  const kvm = new Kvm(js);
  const kv: Partial<Record<BucketName, KV>> = {};
  let images: ObjectStore | undefined;

  // Read the schema first so a newer store is refused before anything is touched.
  const meta = await declareBucket(kvm, jsm, STORE_LAYOUT.find((s) => s.kind === "kv" && s.name === "meta") as BucketSpec, options.replicas);
  const existing = await readSchema(meta);
  if (existing && existing.version > SCHEMA_VERSION) {
    throw new InvalidStateError(
      `the store has schema version ${existing.version} (written by ${existing.declaredBy}); this ployzd knows only up to ${SCHEMA_VERSION}`,
      { hint: "upgrade ployzd on this machine" },
    );
  }
  kv.meta = meta;

  // The rest side by side: each is a few JetStream API round trips, independent of the others.
  await Promise.all(
    STORE_LAYOUT.map(async (spec) => {
      if (spec.kind === "kv" && spec.name !== "meta") kv[spec.name as BucketName] = await declareBucket(kvm, jsm, spec, options.replicas);
      if (spec.kind === "stream") await declareStream(jsm, spec, options.replicas);
      if (spec.kind === "obj") images = await new Objm(js).create(spec.name, { description: spec.description, replicas: options.replicas });
    }),
  );

  if (existing && existing.version < 2) await migrateTo2(kv.instances!);
  if (existing && existing.version < 3) await migrateTo3(kv.secrets!, kv.tls!);
  if (!existing || existing.version < SCHEMA_VERSION) {
    const record: SchemaRecord = { version: SCHEMA_VERSION, declaredAt: new Date().toISOString(), declaredBy: options.declaredBy };
    await meta.put("schema", JSON.stringify(record));
  }
  return { js, jsm, kv: kv as Record<BucketName, KV>, images: images!, clusterId: await clusterIdOf(meta, true) };
}

/**
 * Schema 1 → 2: instance records were one key per instance (`<ns>.<service>.<slot>`); they are
 * now one document per namespace. They are derived from the head commits, so the old keys go
 * and every namespace's reconciler writes the new documents at start.
 */
async function migrateTo2(instances: KV): Promise<void> {
  for await (const key of await instances.keys()) if (key.includes(".")) await instances.purge(key);
}

/**
 * Schema 2 → 3: certificates (`cert.*`), ACME accounts (`acme.*`) and order locks move from KV
 * `secrets` to KV `tls`, which only the roles that serve TLS may read. Copied, then purged from
 * `secrets`; a key already in `tls` (a migration that stopped half-way) is kept as it is.
 */
async function migrateTo3(secrets: KV, tls: KV): Promise<void> {
  for await (const key of await secrets.keys()) {
    if (!key.startsWith("cert.") && !key.startsWith("acme.")) continue;
    const entry = await secrets.get(key);
    if (entry?.operation === "PUT" && (await tls.get(key))?.operation !== "PUT") await tls.put(key, entry.value);
    await secrets.purge(key);
  }
}

/** The cluster's id; made once, by whichever machine declares the store first. */
async function clusterIdOf(meta: KV, create: boolean): Promise<string> {
  const read = async () => {
    const entry = await meta.get("cluster");
    if (entry?.operation !== "PUT") return undefined;
    const id = (entry.json<{ id?: unknown }>()).id;
    if (typeof id !== "string" || !/^[0-9a-f]{16}$/.test(id)) throw new InvalidStateError("the cluster id (KV meta, key cluster) is invalid", { hint: "it names the cluster on every container: restore it, do not invent one" });
    return id;
  };
  const existing = await read();
  if (existing) return existing;
  if (!create) throw new InvalidStateError("the store has no cluster id (KV meta, key cluster)", { hint: "start ployzd once: it declares the store" });
  try {
    await meta.create("cluster", JSON.stringify({ id: randomBytes(8).toString("hex"), createdAt: new Date().toISOString() }));
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === 10071)) throw error;
  }
  return (await read())!;
}

/** Opens one KV bucket without declaring anything (clients open only what their role may read). */
export async function openBucket(nc: NatsConnection, name: BucketName): Promise<KV> {
  const { js } = await jetstreamHandles(nc);
  return await new Kvm(js).open(name);
}

/** The image store, opened without declaring anything. */
export async function openImages(nc: NatsConnection): Promise<{ images: ObjectStore; js: JetStreamClient }> {
  const { js } = await jetstreamHandles(nc);
  return { images: await new Objm(js).open("images"), js };
}

/** Opens the whole store without declaring anything (a machine, or a test looking in). */
export async function openStore(nc: NatsConnection): Promise<Store> {
  const { js, jsm } = await jetstreamHandles(nc);
  const kvm = new Kvm(js);
  const kv: Partial<Record<BucketName, KV>> = {};
  for (const spec of STORE_LAYOUT) if (spec.kind === "kv") kv[spec.name as BucketName] = await kvm.open(spec.name);
  const images = await new Objm(js).open("images");
  return { js, jsm, kv: kv as Record<BucketName, KV>, images, clusterId: await clusterIdOf(kv.meta!, false) };
}

/** The schema record, or null for a store that has none yet. */
export async function readSchema(meta: KV): Promise<SchemaRecord | null> {
  const entry = await meta.get("schema");
  if (!entry || entry.operation !== "PUT") return null;
  try {
    return entry.json<SchemaRecord>();
  } catch (error) {
    throw new InvalidStateError("the store's schema record (KV meta, key schema) is not valid JSON", { cause: error });
  }
}

async function declareBucket(kvm: Kvm, jsm: JetStreamManager, spec: BucketSpec, replicas: number): Promise<KV> {
  const options = {
    description: spec.description,
    history: spec.history,
    replicas,
    ...(spec.ttlMs ? { ttl: spec.ttlMs } : {}),
  };
  const streamName = `KV_${spec.name}`;
  const info = await streamInfo(jsm, streamName);
  if (!info) return await kvm.create(spec.name, options);
  const wantAge = spec.ttlMs ? spec.ttlMs * 1_000_000 : 0;
  if (info.config.max_msgs_per_subject !== spec.history || info.config.max_age !== wantAge || info.config.num_replicas !== replicas) {
    await jsm.streams.update(streamName, {
      ...info.config,
      max_msgs_per_subject: spec.history,
      max_age: wantAge,
      num_replicas: replicas,
    });
  }
  return await kvm.open(spec.name);
}

async function declareStream(jsm: JetStreamManager, spec: StreamSpec, replicas: number): Promise<void> {
  const info = await streamInfo(jsm, spec.name);
  const wanted = {
    name: spec.name,
    description: spec.description,
    subjects: spec.subjects,
    num_replicas: replicas,
    max_msgs_per_subject: spec.maxMsgsPerSubject ?? -1,
    max_age: spec.maxAgeMs ? spec.maxAgeMs * 1_000_000 : 0,
  };
  if (!info) {
    await jsm.streams.add(wanted);
    return;
  }
  const same =
    info.config.subjects?.join(",") === spec.subjects.join(",") &&
    info.config.num_replicas === replicas &&
    info.config.max_msgs_per_subject === wanted.max_msgs_per_subject &&
    info.config.max_age === wanted.max_age &&
    info.config.description === spec.description;
  if (!same) await jsm.streams.update(spec.name, { ...info.config, ...wanted });
}

async function streamInfo(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10059) return undefined; // stream not found
    throw error;
  }
}
