import type { NatsConnection } from "@nats-io/transport-node";
import { fromPromise } from "xstate";
import type { ActorEventsMessage } from "../../model/actor-events.ts";
import { FINISHED_ACTOR_KEEP_MS, type ActorSnapshotMessage, type ActorTable } from "../../model/actor-table.ts";
import { subjects } from "../../model/subjects.ts";
import { serveRequests } from "../nats/serve.ts";
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
 * actors processed (already rate-limited by the table's queue) on `ployz.events.<machine>`;
 * answers `ployz.inspector.<machine>.actors` with the table as it is now, for a `top` that just
 * started. Actors that ended leave the table FINISHED_ACTOR_KEEP_MS later.
 */
export function createInspector(deps: InspectorDeps) {
  // Sequence numbers survive a restart of this actor, so a lower one means a new ployzd. Asked
  // and published snapshots share them: one connection carries both, in order.
  let seq = 0;
  let eventSeq = 0;
  const snapshot = (now: number): ActorSnapshotMessage => {
    deps.table.prune(now, FINISHED_ACTOR_KEEP_MS);
    return { type: "actors", machine: deps.machineId, at: new Date(now).toISOString(), seq: ++seq, actors: deps.table.list() };
  };
  const publish = async (signal: AbortSignal) => {
    let publishedVersion = -1;
    let publishedAt = 0;
    while (!signal.aborted) {
      if (deps.nc.isClosed()) throw new Error("NATS connection closed");
      const now = Date.now();
      deps.table.prune(now, FINISHED_ACTOR_KEEP_MS);
      if (deps.table.version !== publishedVersion || now - publishedAt >= deps.heartbeatMs) {
        deps.nc.publish(subjects.actors(deps.machineId), JSON.stringify(snapshot(now)));
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
  };
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    // Either half failing ends both, so the supervisor restarts the whole inspector.
    const both = new AbortController();
    const stop = () => both.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await Promise.all([
        publish(both.signal).finally(stop),
        serveRequests(deps.nc, async () => snapshot(Date.now()), { subject: subjects.inspector(deps.machineId), signal: both.signal }).finally(stop),
      ]);
    } finally {
      signal.removeEventListener("abort", stop);
    }
  });
}
