import type { NatsConnection } from "@nats-io/transport-node";
import { fromPromise } from "xstate";
import type { ActorEventsMessage } from "../../model/actor-events.ts";
import type { ActorSnapshotMessage, ActorTable } from "../../model/actor-table.ts";
import { subjects } from "../../model/subjects.ts";
import { sleep } from "../sleep.ts";

export interface InspectorDeps {
  nc: NatsConnection;
  machineId: string;
  table: ActorTable;
  /** At most one snapshot per interval, however busy the actors are. */
  minIntervalMs: number;
  /** A snapshot at least this often even when nothing changed, so silence means unreachable. */
  heartbeatMs: number;
}

/**
 * Publishes this node's actor table on `ployz.actors.<machine>`, rate-limited, and the events its
 * actors processed (already rate-limited by the table's queue) on `ployz.events.<machine>`.
 */
export function createInspector(deps: InspectorDeps) {
  // Sequence numbers survive a restart of this actor, so a lower one means a new ployzd.
  let seq = 0;
  let eventSeq = 0;
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    let publishedVersion = -1;
    let publishedAt = 0;
    while (!signal.aborted) {
      if (deps.nc.isClosed()) throw new Error("NATS connection closed");
      const now = Date.now();
      deps.table.prune(now, 30_000);
      if (deps.table.version !== publishedVersion || now - publishedAt >= deps.heartbeatMs) {
        const message: ActorSnapshotMessage = {
          type: "actors",
          machine: deps.machineId,
          at: new Date(now).toISOString(),
          seq: ++seq,
          actors: deps.table.list(),
        };
        deps.nc.publish(subjects.actors(deps.machineId), JSON.stringify(message));
        publishedVersion = deps.table.version;
        publishedAt = now;
      }
      if (deps.table.events.pending > 0) {
        const { events, dropped } = deps.table.events.take();
        const batch: ActorEventsMessage = { type: "events", machine: deps.machineId, at: new Date(now).toISOString(), seq: ++eventSeq, events, dropped };
        deps.nc.publish(subjects.events(deps.machineId), JSON.stringify(batch));
      }
      await sleep(deps.minIntervalMs, signal);
    }
  });
}

