/**
 * What the control-plane store holds: every KV bucket, stream and object store, declared as data.
 * runtime/store declares them idempotently; later issues add entries here, and a change that
 * existing stores cannot take bumps SCHEMA_VERSION with a migration.
 */

/**
 * 2: instance records are one document per namespace (KV instances, key `<ns>`); commits carry
 * their fence, images and whole placement; ROUTING keeps a few records per subject, STATUS two
 * weeks; containers carry the cluster id.
 * 3: certificates and the ACME account move from KV `secrets` to KV `tls` (only the roles that
 * serve TLS may read it; `secrets` keeps the service secrets the operator writes); KV
 * `credentials` holds the credentials handed out.
 */
export const SCHEMA_VERSION = 3;
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
  /** Drop messages older than this (Status), kept forever when absent. */
  maxAgeMs?: number;
}

export interface ObjectStoreSpec {
  kind: "obj";
  name: string;
  description: string;
}

export type StoreSpec = BucketSpec | StreamSpec | ObjectStoreSpec;

export const LEASE_TTL_MS = 15_000;
export const ROUTING_KEPT_PER_SUBJECT = 5;
export const STATUS_MAX_AGE_MS = 14 * 24 * 3600_000;

export const STORE_LAYOUT: readonly StoreSpec[] = [
  { kind: "kv", name: "meta", description: "store schema version", history: 5 },
  { kind: "kv", name: "machines", description: "machine membership (Intent)", history: 5 },
  { kind: "kv", name: "regions", description: "region roles (Intent)", history: 5 },
  { kind: "kv", name: "namespaces", description: "namespace authority and head commit (Intent)", history: 5 },
  { kind: "kv", name: "instances", description: "instance status (Intent)", history: 5 },
  { kind: "kv", name: "leases", description: "deploy leases", ttlMs: LEASE_TTL_MS, history: 1 },
  { kind: "kv", name: "locks", description: "participant locks", ttlMs: LEASE_TTL_MS, history: 1 },
  { kind: "kv", name: "claims", description: "route ownership: hostname + path prefix → namespace, per zone", history: 5 },
  { kind: "kv", name: "secrets", description: "service secrets (Compose secrets), by version", history: 1 },
  { kind: "kv", name: "tls", description: "certificates, the ACME account, order locks", history: 1 },
  { kind: "kv", name: "credentials", description: "credentials handed out: name, role, public key, expiry, revocation", history: 5 },
  // policy: what an operator allows a namespace (binds.<ns>: the host directories it may bind-mount).
  { kind: "kv", name: "policy", description: "operator policy per namespace: allowed bind directories", history: 5 },
  // COMMITS: pruned per namespace by the authority after each commit (COMMITS_KEPT_PER_NAMESPACE); never by age or count here, so the head always stays.
  // invites: one-time join tokens (secret hash, where the machine goes, expiry, who used it); mesh: the workload
  // subnet allocations (key `subnets`, compare-and-set) and the cluster's leaf secret. Machine role only.
  { kind: "kv", name: "invites", description: "join invites: single use by compare-and-set", history: 1 },
  { kind: "kv", name: "mesh", description: "workload subnet allocations and the leaf secret (machines only)", history: 5 },
  { kind: "stream", name: "COMMITS", description: "deploy commits (Intent)", subjects: ["commits.>"] },
  // ROUTING: readers want the last record per service; a few more allow a look back.
  { kind: "stream", name: "ROUTING", description: "routing events (Intent)", subjects: ["routing.>"], maxMsgsPerSubject: ROUTING_KEPT_PER_SUBJECT },
  { kind: "stream", name: "STATUS", description: "lifecycle facts (Status)", subjects: ["status.>"], maxAgeMs: STATUS_MAX_AGE_MS },
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
