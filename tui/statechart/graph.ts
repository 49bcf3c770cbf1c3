import type { AnyStateMachine } from "xstate";

/** What kind of thing makes a transition happen. */
export type TriggerKind = "event" | "done" | "error" | "after" | "always";

/** One transition of a state, with XState's internal event names made readable. */
export interface TransitionInfo {
  /** As drawn: `INJECT_CRASH`, `done(observe)`, `error(child)`, `after(backoff)`, `always`. */
  label: string;
  kind: TriggerKind;
  /** The raw XState event type (`xstate.done.actor.child`, …); empty for `always`. */
  eventType: string;
  /** Target state paths (relative to the root, dot-separated); empty: no state change. */
  targets: string[];
  guard: string | undefined;
}

/** One state node of a statechart, its children and its outgoing transitions. */
export interface StateInfo {
  /** Dot path from the root (`leased.observing`); the root's is "". */
  path: string;
  key: string;
  type: "atomic" | "compound" | "parallel" | "final" | "history";
  /** Key of the initial child of a compound state. */
  initial: string | undefined;
  invokes: Array<{ id: string; src: string }>;
  transitions: TransitionInfo[];
  children: StateInfo[];
}

/** A statechart as plain data: what every renderer draws. */
export interface StatechartGraph {
  id: string;
  root: StateInfo;
}

interface XStateNode {
  id: string;
  key: string;
  type: StateInfo["type"];
  initial?: { target?: XStateNode[] };
  states: Record<string, XStateNode>;
  transitions: Map<string, Array<{ target?: XStateNode[]; guard?: unknown; eventType: string }>>;
  always?: Array<{ target?: XStateNode[]; guard?: unknown }>;
  invoke: Array<{ id: string; src: unknown }>;
}

/** Walks an XState v5 machine definition (no actor is started) into a StatechartGraph. */
export function statechartGraph(machine: AnyStateMachine): StatechartGraph {
  const rootId = machine.root.id;
  const pathOf = (node: XStateNode) => (node.id === rootId ? "" : node.id.slice(rootId.length + 1));
  const walk = (node: XStateNode): StateInfo => {
    const invokes = node.invoke.map((i) => ({ id: i.id, src: typeof i.src === "string" ? i.src : i.id }));
    const srcOf = (invokeId: string) => invokes.find((i) => i.id === invokeId)?.src ?? invokeId;
    const transitions: TransitionInfo[] = [];
    for (const [eventType, list] of node.transitions) {
      for (const t of list) transitions.push({ ...describeTrigger(eventType, srcOf), eventType, targets: (t.target ?? []).map(pathOf), guard: guardName(t.guard) });
    }
    for (const t of node.always ?? []) transitions.push({ label: "always", kind: "always", eventType: "", targets: (t.target ?? []).map(pathOf), guard: guardName(t.guard) });
    const initialTarget = node.initial?.target?.[0];
    return {
      path: pathOf(node),
      key: node.key,
      type: node.type,
      initial: node.type === "compound" && initialTarget ? initialTarget.key : undefined,
      invokes,
      transitions,
      children: Object.values(node.states).map(walk),
    };
  };
  return { id: machine.id, root: walk(machine.root as unknown as XStateNode) };
}

function describeTrigger(eventType: string, srcOf: (invokeId: string) => string): { label: string; kind: TriggerKind } {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return { label: `done(${srcOf(done[1]!)})`, kind: "done" };
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return { label: `error(${srcOf(error[1]!)})`, kind: "error" };
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return { label: `after(${/^\d+$/.test(after[1]!) ? `${after[1]}ms` : after[1]})`, kind: "after" };
  return { label: eventType, kind: "event" };
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") return guard.name || "guard";
  if (typeof guard === "object" && typeof (guard as { type?: unknown }).type === "string") return (guard as { type: string }).type;
  return "guard";
}

/** Every state of the graph, depth first (root first). */
export function allStates(graph: StatechartGraph): StateInfo[] {
  const out: StateInfo[] = [];
  const visit = (s: StateInfo) => {
    out.push(s);
    s.children.forEach(visit);
  };
  visit(graph.root);
  return out;
}

/**
 * The active state paths for a state as `top` shows it (`leased.observing`, or parallel regions
 * joined with `, `): every listed leaf and its ancestors. Paths the chart does not have are ignored.
 */
export function activePaths(graph: StatechartGraph, state: string | undefined): Set<string> {
  const active = new Set<string>();
  if (!state) return active;
  const known = new Set(allStates(graph).map((s) => s.path));
  for (const leaf of state.split(", ")) {
    const parts = leaf.split(".");
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join(".");
      if (known.has(path)) active.add(path);
    }
  }
  return active;
}
