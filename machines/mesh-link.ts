import { assign, setup } from "xstate";
import type { WireGuardPeerStats } from "../model/wireguard-dump.ts";
import type { WireGuardPeer } from "../model/wireguard-peers.ts";

export interface MeshLinkInput {
  peer: WireGuardPeer;
  /** A handshake older than this makes the link stale. */
  staleAfterMs: number;
  /** Wall-clock source (ms); tests pass the simulated clock's. */
  now: () => number;
}

export interface MeshLinkContext extends MeshLinkInput {
  /** When the interface last took this peer's configuration; undefined while it is being written. */
  configuredAt: number | undefined;
  latestHandshakeAt: number | undefined;
  rxBytes: number;
  txBytes: number;
  /** When the current state was entered. */
  since: number;
}

export type MeshLinkEvent =
  /** The interface holds the peer's (new) configuration now. */
  | { type: "CONFIGURED" }
  /** Membership changed the peer (endpoint, allowed IPs, key): it is written again. */
  | { type: "CHANGED"; peer: WireGuardPeer }
  /** What `wg show dump` says of this peer now (undefined: the interface does not list it). */
  | { type: "STATS"; stats: WireGuardPeerStats | undefined }
  /** The peer left membership; it is being taken off the interface. */
  | { type: "REMOVE" };

/**
 * One WireGuard peer of this machine, spawned by meshPeer, so `top` shows each link:
 * `configuring` (being written, or written and no handshake yet) → `up` (a handshake younger than
 * `staleAfterMs`) ⇄ `stale` (older, or none within `staleAfterMs` of being configured) →
 * `removed`. Handshakes arrive as STATS from meshPeer's poll of the interface.
 */
export const meshLinkMachine = setup({
  types: {
    context: {} as MeshLinkContext,
    input: {} as MeshLinkInput,
    events: {} as MeshLinkEvent,
  },
  guards: {
    /** A handshake counts in `configuring` only once the interface holds this configuration. */
    configuredAndFresh: ({ context }, params: { stats: WireGuardPeerStats | undefined }) =>
      context.configuredAt !== undefined && params.stats?.latestHandshakeAt !== undefined && context.now() - params.stats.latestHandshakeAt < context.staleAfterMs,
    newerHandshake: ({ context }, params: { stats: WireGuardPeerStats | undefined }) =>
      params.stats?.latestHandshakeAt !== undefined && params.stats.latestHandshakeAt > (context.latestHandshakeAt ?? 0),
    freshHandshake: ({ context }, params: { stats: WireGuardPeerStats | undefined }) =>
      params.stats?.latestHandshakeAt !== undefined && context.now() - params.stats.latestHandshakeAt < context.staleAfterMs,
  },
  actions: {
    recordStats: assign(({ context }, params: { stats: WireGuardPeerStats | undefined }) => ({
      latestHandshakeAt: params.stats?.latestHandshakeAt ?? context.latestHandshakeAt,
      rxBytes: params.stats?.rxBytes ?? context.rxBytes,
      txBytes: params.stats?.txBytes ?? context.txBytes,
    })),
    markSince: assign(({ context }) => ({ since: context.now() })),
  },
  delays: {
    /** Until the latest handshake is too old. */
    handshakeExpires: ({ context }) => Math.max(0, (context.latestHandshakeAt ?? 0) + context.staleAfterMs - context.now()),
    staleAfter: ({ context }) => context.staleAfterMs,
  },
}).createMachine({
  id: "meshLink",
  context: ({ input }) => ({ ...input, configuredAt: undefined, latestHandshakeAt: undefined, rxBytes: 0, txBytes: 0, since: input.now() }),
  initial: "configuring",
  on: {
    CHANGED: { target: ".configuring", reenter: true, actions: assign({ peer: ({ event }) => event.peer, configuredAt: undefined }) },
    REMOVE: ".removed",
  },
  states: {
    configuring: {
      entry: "markSince",
      after: { staleAfter: "stale" },
      on: {
        CONFIGURED: { actions: assign({ configuredAt: ({ context }) => context.now() }) },
        STATS: [
          {
            guard: { type: "configuredAndFresh", params: ({ event }) => ({ stats: event.stats }) },
            target: "up",
            actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) },
          },
          { actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) } },
        ],
      },
    },
    up: {
      entry: "markSince",
      initial: "fresh",
      states: {
        // Re-entered on each newer handshake, which restarts the expiry (and leaves `since` alone).
        fresh: { after: { handshakeExpires: "#meshLink.stale" } },
      },
      on: {
        STATS: [
          {
            guard: { type: "newerHandshake", params: ({ event }) => ({ stats: event.stats }) },
            target: ".fresh",
            reenter: true,
            actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) },
          },
          {
            guard: { type: "freshHandshake", params: ({ event }) => ({ stats: event.stats }) },
            actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) },
          },
          { target: "stale", actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) } },
        ],
      },
    },
    stale: {
      entry: "markSince",
      on: {
        STATS: [
          {
            guard: { type: "freshHandshake", params: ({ event }) => ({ stats: event.stats }) },
            target: "up",
            actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) },
          },
          { actions: { type: "recordStats", params: ({ event }) => ({ stats: event.stats }) } },
        ],
      },
    },
    removed: { type: "final", entry: "markSince" },
  },
});
