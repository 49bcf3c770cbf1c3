import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ClusterStatus } from "../../model/api.ts";
import type { SchemaRecord } from "../../model/store-layout.ts";
import { readMachines } from "../store/machines.ts";
import { readNodeStatus } from "../store/node-status.ts";
import { observeMachine } from "./observe-machine.ts";

export interface ClusterStatusDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  machines: KV;
  meta: KV;
  answeredBy: string;
  observeTimeoutMs: number;
}

/**
 * The three kinds of truth, kept apart: Intent (membership) and Status (schema, node lifecycle)
 * read from the store, Observation asked of every active machine now, in parallel.
 */
export async function readClusterStatus(deps: ClusterStatusDeps): Promise<ClusterStatus> {
  const { machines, invalid } = await readMachines(deps.machines);
  const active = machines.filter((m) => m.state === "active");
  const [schemaEntry, nodes, observation] = await Promise.all([
    deps.meta.get("schema"),
    readNodeStatus(deps.jsm, machines.map((m) => m.id)),
    Promise.all(active.map((m) => observeMachine(deps.nc, m.id, deps.observeTimeoutMs))),
  ]);
  const schema = schemaEntry?.operation === "PUT" ? (schemaEntry.json() as SchemaRecord) : null;
  return {
    type: "status",
    at: new Date().toISOString(),
    answeredBy: deps.answeredBy,
    intent: { machines, invalid },
    status: { schema, nodes },
    observation,
  };
}
