/**
 * What the control-plane store holds: every KV bucket, stream and object store, declared as data.
 * runtime/store declares them idempotently; later issues add entries here, and a change that
 * existing stores cannot take bumps SCHEMA_VERSION with a migration.
 */

export const SCHEMA_VERSION = 1;
export const JETSTREAM_DOMAIN = "ployz";

export interface BucketSpec {
  kind: "kv";
  name: string;
  description: string;
  /** Max age of an entry in ms; leases rely on it, since NATS 2.9 has no per-key TTL. */
  ttlMs?: number;
  history: number;
}

export interface StreamSpec {
  kind: "stream";
  name: string;
  description: string;
  subjects: string[];
  /** Keep only the last N messages per subject (routing projections), unlimited when absent. */
  maxMsgsPerSubject?: number;
}

export interface ObjectStoreSpec {
  kind: "obj";
  name: string;
  description: string;
}

export type StoreSpec = BucketSpec | StreamSpec | ObjectStoreSpec;

export const LEASE_TTL_MS = 15_000;

export const STORE_LAYOUT: readonly StoreSpec[] = [
  { kind: "kv", name: "meta", description: "store schema version", history: 5 },
  { kind: "kv", name: "machines", description: "machine membership (Intent)", history: 5 },
  { kind: "kv", name: "regions", description: "region roles (Intent)", history: 5 },
  { kind: "kv", name: "namespaces", description: "namespace authority and head commit (Intent)", history: 5 },
  { kind: "kv", name: "instances", description: "instance status (Intent)", history: 5 },
  { kind: "kv", name: "leases", description: "deploy leases", ttlMs: LEASE_TTL_MS, history: 1 },
  { kind: "kv", name: "locks", description: "participant locks", ttlMs: LEASE_TTL_MS, history: 1 },
  { kind: "kv", name: "secrets", description: "certificates and ACME account", history: 1 },
  { kind: "stream", name: "COMMITS", description: "deploy commits (Intent)", subjects: ["commits.>"] },
  { kind: "stream", name: "ROUTING", description: "routing events (Intent)", subjects: ["routing.>"] },
  { kind: "stream", name: "STATUS", description: "lifecycle facts (Status)", subjects: ["status.>"] },
  { kind: "obj", name: "images", description: "container images (docker save)" },
];

/** Replica count for every stream and bucket, from the number of storage machines. */
export function replicasFor(storageMachineCount: number): number {
  return storageMachineCount >= 3 ? 3 : 1;
}

/** The schema record kept in KV `meta`, key `schema`. */
export interface SchemaRecord {
  version: number;
  declaredAt: string;
  declaredBy: string;
}
