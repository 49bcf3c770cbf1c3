import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";

/** The parts of the store a deploy coordinator reads and writes. */
export interface DeployStore {
  js: JetStreamClient;
  jsm: JetStreamManager;
  machines: KV;
  regions: KV;
  namespaces: KV;
  instances: KV;
  leases: KV;
  /** Route ownership (model/route-claims.ts). */
  claims: KV;
  /** Operator policy: the directories each namespace may bind-mount (model/bind-policy.ts). */
  policy: KV;
}
