import type { ActorEntry } from "./actor-table.ts";

/** The statechart id of one WireGuard peer link (machines/mesh-link.ts), which meshPeer spawns as `peer:<machine id>`. */
export const MESH_LINK_CHART = "meshLink";

/** A machine's mesh at a glance in `top`: links up of all, and the oldest latest handshake among them. */
export interface MeshSummary {
  up: number;
  peers: number;
  /** The longest any peer has gone without a handshake; undefined when no peer has had one. */
  oldestHandshakeAgeMs: number | undefined;
  /** Peers that never had a handshake. */
  neverHandshaken: number;
}

export function isMeshLink(actor: Pick<ActorEntry, "chart">): boolean {
  return actor.chart === MESH_LINK_CHART;
}

/** The link's state as `top` says it: `up` (its inner `fresh` is how it times the handshake out, not news). */
export function meshLinkState(state: string | undefined): string | undefined {
  return state?.startsWith("up.") ? "up" : state;
}

/** Milliseconds since the link's latest handshake at `atMs` (the machine's clock), or undefined before the first. */
export function handshakeAgeMs(actor: Pick<ActorEntry, "context">, atMs: number): number | undefined {
  const at = actor.context?.latestHandshakeAt;
  return typeof at === "number" ? Math.max(0, atMs - at) : undefined;
}

/** The links of one machine's snapshot summed up, or undefined when it has none (no WireGuard there). */
export function meshSummary(actors: readonly ActorEntry[], atMs: number): MeshSummary | undefined {
  const links = actors.filter((a) => isMeshLink(a) && a.status === "active" && meshLinkState(a.state) !== "removed");
  if (links.length === 0) return undefined;
  const ages = links.map((a) => handshakeAgeMs(a, atMs));
  const known = ages.filter((age): age is number => age !== undefined);
  return {
    up: links.filter((a) => meshLinkState(a.state) === "up").length,
    peers: links.length,
    oldestHandshakeAgeMs: known.length ? Math.max(...known) : undefined,
    neverHandshaken: ages.length - known.length,
  };
}
