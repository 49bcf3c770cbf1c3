import type { ActorSnapshotMessage } from "./actor-table.ts";

/** How many finished operations `top` keeps in its header. */
export const RECENT_OPERATIONS = 5;

/** The statecharts of per-operation coordinators (a deploy, a rollback, a namespace removal, a reconciler's repair all run `deploy`). */
export const OPERATION_CHARTS: readonly string[] = ["deploy"];

/**
 * A per-operation coordinator (a deploy; a migration when they exist) that has finished: it
 * leaves the actor tree shortly after (the inspector forgets ended actors), its outcome stays in
 * `top`'s header. Seen by `top` in a machine's actor snapshot, so only what ended while (or
 * shortly before) it watched.
 */
export interface RecentOperation {
  machine: string;
  sessionId: string;
  /** What ran: the statechart id, e.g. `deploy`. */
  kind: string;
  /** The namespace it worked on, when its context names one. */
  namespace: string | undefined;
  /** Its own id (the deploy id), when its context has one. */
  id: string | undefined;
  /** Its final state (`done`, `failed`, `previewed` …), or its status when it has none. */
  outcome: string;
  /** When it ended, on the local clock (the machine's clock offset removed). */
  endedAt: number;
}

/**
 * The operations that a snapshot shows finished: coordinators (wherever they run: the API spawns
 * them as its children) whose status is no longer active.
 */
export function finishedOperations(message: ActorSnapshotMessage, receivedAt: number): RecentOperation[] {
  const snapshotAt = Date.parse(message.at);
  return message.actors
    .filter((a) => a.chart !== undefined && OPERATION_CHARTS.includes(a.chart) && a.status !== "active")
    .map((a) => ({
      machine: message.machine,
      sessionId: a.sessionId,
      kind: a.chart ?? a.src,
      namespace: typeof a.context?.namespace === "string" ? a.context.namespace : undefined,
      id: typeof a.context?.deployId === "string" ? a.context.deployId : undefined,
      outcome: a.state ?? a.status,
      endedAt: receivedAt - Math.max(0, snapshotAt - a.since),
    }));
}

/** `recent` with `seen` added (each operation once), newest first, at most RECENT_OPERATIONS. */
export function addRecentOperations(recent: readonly RecentOperation[], seen: readonly RecentOperation[]): readonly RecentOperation[] {
  const fresh = seen.filter((op) => !recent.some((r) => r.machine === op.machine && r.sessionId === op.sessionId && r.id === op.id));
  if (fresh.length === 0) return recent;
  return [...fresh, ...recent].sort((a, b) => b.endedAt - a.endedAt).slice(0, RECENT_OPERATIONS);
}
