import type { SnapshotFrom } from "xstate";
import type { MeshObservation, MeshPeerObservation, PeerLinkState } from "../model/mesh-observation.ts";
import type { meshLinkMachine } from "./mesh-link.ts";
import type { meshPeerMachine } from "./mesh-peer.ts";

export type MeshPeerSnapshot = SnapshotFrom<typeof meshPeerMachine>;
type MeshLinkSnapshot = SnapshotFrom<typeof meshLinkMachine>;

/**
 * The mesh as meshPeer's snapshot holds it (asked, not shared): its state, the interface, each
 * peer's link state, handshake age and counters. Latency is not in the statechart: the caller
 * measures it at the moment it is asked and passes it in (`latencyMs`, by machine id).
 */
export function meshStatus(snapshot: MeshPeerSnapshot | undefined, machine: string, now: number, latencyMs: ReadonlyMap<string, number | null> = new Map()): MeshObservation {
  const at = new Date(now).toISOString();
  if (!snapshot) return { type: "mesh", machine, at, state: "failed", peers: [], ignored: [], error: "meshPeer is not running" };
  const { context } = snapshot;
  if (snapshot.status !== "active") return { type: "mesh", machine, at, state: "failed", peers: [], ignored: context.ignored, error: context.failure ?? "meshPeer ended" };
  if (!context.mesh) return { type: "mesh", machine, at, state: "off", peers: [], ignored: [] };
  const state = snapshot.matches({ watching: { connected: "applying" } })
    ? "applying"
    : snapshot.matches({ watching: { connected: "inSync" } })
      ? "in-sync"
      : "starting";
  const peers = (context.pending?.peers ?? context.applied).flatMap((peer): MeshPeerObservation[] => {
    const link = context.links[peer.machineId]?.getSnapshot() as MeshLinkSnapshot | undefined;
    if (!link) return [];
    const handshakeAt = link.context.latestHandshakeAt;
    return [
      {
        machine: peer.machineId,
        name: peer.name,
        overlayIp: peer.overlayIp,
        endpoint: peer.endpoint,
        state: linkState(link),
        handshakeAgeMs: handshakeAt === undefined ? null : Math.max(0, now - handshakeAt),
        latencyMs: latencyMs.get(peer.machineId) ?? null,
        rxBytes: link.context.rxBytes,
        txBytes: link.context.txBytes,
      },
    ];
  });
  const iface = context.interface;
  return {
    type: "mesh",
    machine,
    at,
    state,
    ...(iface ? { interface: { name: iface.name, implementation: iface.implementation, overlayIp: iface.overlayIp, listenPort: iface.listenPort } } : {}),
    peers,
    ignored: context.ignored,
  };
}

/** The link's top-level state (`up` has a child state of its own). */
export function linkState(link: MeshLinkSnapshot): PeerLinkState {
  const value = link.value;
  return (typeof value === "string" ? value : Object.keys(value)[0]) as PeerLinkState;
}
