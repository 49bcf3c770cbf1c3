import type { ActorEvent, ActorEventsMessage } from "./actor-events.ts";
import type { ActorEntry, ActorSnapshotMessage } from "./actor-table.ts";
import { compareText } from "./compare.ts";
import type { DeployInFlight, HeldLease, Overview } from "./overview.ts";
import { addRecentOperations, finishedOperations, type RecentOperation } from "./recent-operations.ts";
import { handshakeAgeMs, isMeshLink, meshLinkState, meshSummary, type MeshSummary } from "./top-mesh.ts";

/**
 * A machine whose last actor snapshot is older than this is shown unreachable (heartbeat: 2 s);
 * so is one asked for its actors that has not answered for this long.
 */
export const STALE_AFTER_MS = 5_000;
/** How many recent events `top` keeps per actor. */
export const EVENTS_PER_ACTOR = 10;

/**
 * Everything `ployz top` knows, as received: the last actor snapshot of each machine (with the
 * local time it arrived), recent events per actor, and the last overview from the store.
 * Immutable: every `apply…` returns a new model. Time is always an argument, never read.
 */
export interface TopModel {
  snapshots: Readonly<Record<string, { message: ActorSnapshotMessage; receivedAt: number }>>;
  /** machine → sessionId → events, oldest first. */
  events: Readonly<Record<string, Readonly<Record<string, readonly ActorEvent[]>>>>;
  /** Events the machines left out to keep their rate, since `top` started. */
  droppedEvents: number;
  overview: { value: Overview; receivedAt: number } | undefined;
  /** The last failure to read the overview, cleared by the next success. */
  overviewError: { message: string; at: number } | undefined;
  /** Messages that did not parse (dropped). */
  invalidMessages: number;
  /** Machines asked for their actors directly (request/reply), and how that went; a success is a snapshot. */
  asks: Readonly<Record<string, MachineAsk>>;
  /** Operations seen finishing, newest first. */
  recent: readonly RecentOperation[];
}

/** `top` asked a machine for its actors: still waiting for the answer, or it failed. */
export type MachineAsk = { state: "asking"; since: number } | { state: "failed"; error: string; at: number };

export const emptyTopModel: TopModel = { snapshots: {}, events: {}, droppedEvents: 0, overview: undefined, overviewError: undefined, invalidMessages: 0, asks: {}, recent: [] };

/**
 * A new snapshot of one machine, published or asked for. A lower `seq` means its ployzd
 * restarted: its old events go. Operations it shows finished join the recent ones.
 */
export function applyActors(model: TopModel, message: ActorSnapshotMessage, receivedAt: number): TopModel {
  const previous = model.snapshots[message.machine];
  const restarted = previous !== undefined && message.seq <= previous.message.seq;
  const live = new Set(message.actors.map((a) => a.sessionId));
  const kept = Object.fromEntries(Object.entries(restarted ? {} : (model.events[message.machine] ?? {})).filter(([sessionId]) => live.has(sessionId)));
  const { [message.machine]: _answered, ...asks } = model.asks;
  return {
    ...model,
    snapshots: { ...model.snapshots, [message.machine]: { message, receivedAt } },
    events: { ...model.events, [message.machine]: kept },
    asks,
    recent: addRecentOperations(model.recent, finishedOperations(message, receivedAt)),
  };
}

/**
 * The answer to asking a machine for its actors. A snapshot it published meanwhile may be newer
 * (by the machine's own clock): then the answer only ends the question.
 */
export function applyAnswer(model: TopModel, message: ActorSnapshotMessage, receivedAt: number): TopModel {
  const current = model.snapshots[message.machine];
  if (current && Date.parse(current.message.at) > Date.parse(message.at)) {
    const { [message.machine]: _answered, ...asks } = model.asks;
    return { ...model, asks };
  }
  return applyActors(model, message, receivedAt);
}

/** `top` has asked `machine` for its actors at `at`. */
export function applyAsking(model: TopModel, machine: string, at: number): TopModel {
  return { ...model, asks: { ...model.asks, [machine]: { state: "asking", since: at } } };
}

/** Asking `machine` for its actors failed: no responder, no answer in time, an error reply. */
export function applyAskFailed(model: TopModel, machine: string, error: string, at: number): TopModel {
  return { ...model, asks: { ...model.asks, [machine]: { state: "failed", error, at } } };
}

/** Members to ask for their actors now: no fresh snapshot from them and no question in flight. */
export function machinesToAsk(model: TopModel, now: number): string[] {
  const members = (model.overview?.value.machines ?? []).filter((m) => m.state === "active").map((m) => m.id);
  return members.filter((id) => {
    const snapshot = model.snapshots[id];
    if (snapshot && now - snapshot.receivedAt <= STALE_AFTER_MS) return false;
    return model.asks[id]?.state !== "asking";
  });
}

/** A batch of events of one machine: the last few per actor are kept. */
export function applyEvents(model: TopModel, message: ActorEventsMessage): TopModel {
  if (message.events.length === 0 && message.dropped === 0) return model;
  const perActor: Record<string, readonly ActorEvent[]> = { ...(model.events[message.machine] ?? {}) };
  for (const event of message.events) perActor[event.sessionId] = [...(perActor[event.sessionId] ?? []), event].slice(-EVENTS_PER_ACTOR);
  return { ...model, events: { ...model.events, [message.machine]: perActor }, droppedEvents: model.droppedEvents + message.dropped };
}

export function applyOverview(model: TopModel, overview: Overview, receivedAt: number): TopModel {
  return { ...model, overview: { value: overview, receivedAt }, overviewError: undefined };
}

export function applyOverviewError(model: TopModel, message: string, at: number): TopModel {
  return { ...model, overviewError: { message, at } };
}

export function applyInvalidMessage(model: TopModel): TopModel {
  return { ...model, invalidMessages: model.invalidMessages + 1 };
}

/** How an actor is doing, for colour: `error` is red, `warn` yellow, `done` dim. */
export type Severity = "ok" | "warn" | "error" | "done";

/** One actor as `top` shows it, at a given moment. */
export interface ActorRow {
  machine: string;
  sessionId: string;
  /** Its name: the id its parent gave it, or what it runs when XState made the id up. */
  name: string;
  path: string;
  depth: number;
  /** Tree drawing before the name, e.g. `│  ├─ `. */
  prefix: string;
  src: string;
  chart: string | undefined;
  status: string;
  state: string | undefined;
  /** Time in the current state; for an unreachable machine, as of its last snapshot. */
  inStateMs: number;
  restarts: number | undefined;
  lastEvent: string | undefined;
  error: string | undefined;
  /** What matters more than its last event: a WireGuard peer link's handshake age. */
  note: string | undefined;
  severity: Severity;
  context: ActorEntry["context"];
  events: readonly ActorEvent[];
}

/** One machine as `top` shows it. */
export interface MachineView {
  id: string;
  name: string | undefined;
  region: string | undefined;
  storage: boolean | undefined;
  /** In the membership (Intent) as active. A machine that publishes without being a member is shown too. */
  member: boolean;
  /**
   * `live`: a snapshot at most 5 s old. `waiting`: asked, no answer yet (for at most 5 s), no
   * snapshot so far. `unreachable`: silent for longer, or asking it failed.
   */
  liveness: "live" | "waiting" | "unreachable";
  /** `liveness === "live"`. */
  reachable: boolean;
  /** Why it is unreachable, when asking it said so (no responder, no answer in time). */
  unreachableReason: string | undefined;
  /** Age of its last snapshot (local clock); undefined if none came since `top` started. */
  lastSnapshotAgeMs: number | undefined;
  /** Its WireGuard peers (the meshPeer's `peer:<id>` links), as of its last snapshot; undefined without any. */
  mesh: MeshSummary | undefined;
  actors: ActorRow[];
}

export interface TopHeader {
  /** Members: live, waiting for their first answer, all, with storage. */
  machines: { reachable: number; waiting: number; total: number; storage: number };
  regions: Overview["regions"];
  namespaces: Array<{ name: string; headSeq: number; headDeployId: string; authority: string }>;
  deploys: DeployInFlight[];
  /** Operations that finished lately, newest first, with how long ago. */
  recent: Array<RecentOperation & { agoMs: number }>;
  leases: HeldLease[];
  migrations: { supported: boolean; inFlight: number };
  /** Age of the overview (store) data, or undefined before the first one. */
  overviewAgeMs: number | undefined;
  overviewError: string | undefined;
  droppedEvents: number;
  invalidMessages: number;
  invalidRecords: number;
}

/** What the TUI and `top --once` render: the model seen at `now`. */
export interface TopView {
  now: number;
  header: TopHeader;
  machines: MachineView[];
}

/** Derives the view at `now`: reachability from snapshot age, time in state, the actor trees. */
export function topView(model: TopModel, now: number): TopView {
  const overview = model.overview?.value;
  const members = (overview?.machines ?? []).filter((m) => m.state === "active");
  const ids = [...new Set([...members.map((m) => m.id), ...Object.keys(model.snapshots)])].sort();
  const machines = ids.map((id): MachineView => {
    const record = members.find((m) => m.id === id);
    const snapshot = model.snapshots[id];
    const ageMs = snapshot ? Math.max(0, now - snapshot.receivedAt) : undefined;
    const ask = model.asks[id];
    const reachable = ageMs !== undefined && ageMs <= STALE_AFTER_MS;
    const waiting = !reachable && ageMs === undefined && ask?.state === "asking" && now - ask.since <= STALE_AFTER_MS;
    return {
      id,
      name: record?.name,
      region: record?.region,
      storage: record?.storage,
      member: record !== undefined,
      liveness: reachable ? "live" : waiting ? "waiting" : "unreachable",
      reachable,
      unreachableReason: !reachable && ask?.state === "failed" ? ask.error : undefined,
      lastSnapshotAgeMs: ageMs,
      mesh: snapshot ? meshSummary(snapshot.message.actors, Date.parse(snapshot.message.at) + (reachable ? (ageMs ?? 0) : 0)) : undefined,
      actors: snapshot ? actorRows(snapshot.message, reachable ? (ageMs ?? 0) : 0, model.events[id] ?? {}) : [],
    };
  });
  const counted = machines.filter((m) => m.member);
  return {
    now,
    header: {
      machines: {
        reachable: counted.filter((m) => m.reachable).length,
        waiting: counted.filter((m) => m.liveness === "waiting").length,
        total: counted.length,
        storage: members.filter((m) => m.storage).length,
      },
      regions: overview?.regions ?? [],
      namespaces: (overview?.namespaces ?? []).map((n) => ({ name: n.name, headSeq: n.headSeq, headDeployId: n.headDeployId, authority: n.authority })),
      deploys: overview?.deploys ?? [],
      recent: model.recent.map((op) => ({ ...op, agoMs: Math.max(0, now - op.endedAt) })),
      leases: overview?.leases ?? [],
      migrations: { supported: overview?.migrations.supported ?? false, inFlight: overview?.migrations.inFlight.length ?? 0 },
      overviewAgeMs: model.overview ? Math.max(0, now - model.overview.receivedAt) : undefined,
      overviewError: model.overviewError?.message,
      droppedEvents: model.droppedEvents,
      invalidMessages: model.invalidMessages,
      invalidRecords: overview?.invalid.length ?? 0,
    },
    machines,
  };
}

/** The actors of one snapshot as a depth-first tree, children in the order they were created. */
function actorRows(message: ActorSnapshotMessage, sinceSnapshotMs: number, events: Readonly<Record<string, readonly ActorEvent[]>>): ActorRow[] {
  const snapshotAt = Date.parse(message.at);
  const known = new Set(message.actors.map((a) => a.sessionId));
  const children = new Map<string | undefined, ActorEntry[]>();
  for (const actor of message.actors) {
    const parent = actor.parent && known.has(actor.parent) ? actor.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), actor]);
  }
  for (const list of children.values()) list.sort(byCreation);
  const rows: ActorRow[] = [];
  const visit = (parent: string | undefined, depth: number, lead: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((actor, index) => {
      const last = index === list.length - 1;
      const prefix = depth === 0 ? "" : `${lead}${last ? "└─ " : "├─ "}`;
      rows.push(toRow(message.machine, actor, depth, prefix, snapshotAt + sinceSnapshotMs, events[actor.sessionId] ?? []));
      visit(actor.sessionId, depth + 1, depth === 0 ? "" : `${lead}${last ? "   " : "│  "}`);
    });
  };
  visit(undefined, 0, "");
  return rows;
}

function byCreation(a: ActorEntry, b: ActorEntry): number {
  const n = (s: string) => Number(/(\d+)$/.exec(s)?.[1] ?? Number.NaN);
  const [x, y] = [n(a.sessionId), n(b.sessionId)];
  return Number.isNaN(x) || Number.isNaN(y) ? compareText(a.sessionId, b.sessionId) : x - y;
}

/** One actor as a row, at `atMs` on its machine's clock. */
function toRow(machine: string, actor: ActorEntry, depth: number, prefix: string, atMs: number, events: readonly ActorEvent[]): ActorRow {
  const inStateMs = atMs - actor.since;
  const restarts = actor.context?.restarts;
  const lastError = actor.context?.lastError;
  const link = isMeshLink(actor);
  const state = link ? meshLinkState(actor.state) : actor.state;
  const failing = actor.status === "error" || actor.state === "failed";
  const backingOff = actor.state === "backoff" || (link && state === "stale");
  const error = actor.error ?? (failing || backingOff ? (typeof lastError === "string" ? lastError : undefined) : undefined);
  const severity: Severity = failing ? "error" : backingOff ? "warn" : actor.status === "active" ? "ok" : "done";
  return {
    machine,
    sessionId: actor.sessionId,
    name: /^\d+\./.test(actor.id) || actor.id === actor.sessionId ? (actor.chart ?? actor.src) : actor.id,
    path: actor.path,
    depth,
    prefix,
    src: actor.src,
    chart: actor.chart,
    status: actor.status,
    state,
    inStateMs: Math.max(0, inStateMs),
    restarts: typeof restarts === "number" ? restarts : undefined,
    lastEvent: actor.lastEvent,
    error,
    note: link ? handshakeNote(actor, atMs) : undefined,
    severity,
    context: actor.context,
    events,
  };
}

/** "handshake 12s ago", or "no handshake yet". */
function handshakeNote(actor: ActorEntry, atMs: number): string {
  const age = handshakeAgeMs(actor, atMs);
  return age === undefined ? "no handshake yet" : `handshake ${formatAge(age)} ago`;
}

/** "mesh 2/3 up, oldest handshake 4m05s ago" for the machine's line; undefined without peers. */
export function meshHealth(machine: Pick<MachineView, "mesh">): string | undefined {
  const mesh = machine.mesh;
  if (!mesh) return undefined;
  const handshakes = [
    mesh.oldestHandshakeAgeMs !== undefined ? `oldest handshake ${formatAge(mesh.oldestHandshakeAgeMs)} ago` : undefined,
    mesh.neverHandshaken ? `${mesh.neverHandshaken} never` : undefined,
  ].filter(Boolean);
  return `mesh ${mesh.up}/${mesh.peers} up${handshakes.length ? `, ${handshakes.join(", ")}` : ""}`;
}

/** "reachable, snapshot 1s ago", "waiting for the first snapshot", "UNREACHABLE: …" with why. */
export function machineHealth(machine: MachineView): string {
  const age = machine.lastSnapshotAgeMs;
  if (machine.liveness === "live") return `reachable, snapshot ${formatAge(age ?? 0)} ago`;
  if (machine.liveness === "waiting") return "waiting for the first snapshot";
  const reason = machine.unreachableReason;
  if (age === undefined) return `UNREACHABLE: ${reason ?? "no snapshot since top started"}`;
  return `UNREACHABLE: last snapshot ${formatAge(age)} ago${reason ? `; ${reason}` : ""}`;
}

/** "850ms", "12s", "4m05s", "3h12m", "2d04h": short and fixed-ish in width. */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.floor(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

/** XState's internal event names made short: `xstate.done.actor.0.node.registering` → `done(registering)`. */
export function formatEvent(type: string): string {
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  if (actor) return `${actor[1]}(${actor[2]!.split(".").at(-1)})`;
  const after = /^xstate\.after\.([^.]+)\./.exec(type);
  if (after) return `after(${after[1]})`;
  if (type === "xstate.init") return "init";
  if (type === "xstate.promise.resolve") return "resolved";
  if (type === "xstate.promise.reject") return "rejected";
  if (type === "xstate.stop") return "stop";
  return type;
}
