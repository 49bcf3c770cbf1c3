import { assign, enqueueActions, fromCallback, fromPromise, setup, type ActorRefFrom } from "xstate";
import type { MachineRecord } from "../model/machine.ts";
import type { IgnoredMember } from "../model/wireguard-peers.ts";
import { diffPeers, HANDSHAKE_STALE_AFTER_MS, isEmptyDiff, planPeers, type PeerDiff, type WireGuardPeer } from "../model/wireguard-peers.ts";
import type { WireGuardInterfaceStats } from "../model/wireguard-dump.ts";
import { meshLinkMachine } from "./mesh-link.ts";

/** This machine's WireGuard identity and how closely to watch its peers. Absent: no mesh here. */
export interface MeshSettings {
  machineId: string;
  /** This machine's workload subnet (no peer may claim it). */
  subnet?: string;
  /** A handshake older than this makes a peer stale (default 180 s, WireGuard's REJECT_AFTER_TIME). */
  staleAfterMs?: number;
  /** How often the interface's handshakes and counters are read (default 5 s). */
  statsIntervalMs?: number;
  /** Wall-clock source (ms); tests pass the simulated clock's. */
  now?: () => number;
}

export interface MeshPeerInput {
  name: string;
  /** Without it (a single dev machine) meshPeer follows membership and applies nothing. */
  mesh?: MeshSettings;
}

/** The interface once it exists, as the `ensureInterface` effect reports it. */
export interface MeshInterface {
  name: string;
  implementation: "kernel" | "wireguard-go";
  publicKey: string;
  overlayIp: string;
  listenPort: number;
}

/** What `applyPeers` is asked to do: the diff to apply, and the whole peer set it leads to. */
export interface PeerChange {
  interface: MeshInterface;
  diff: PeerDiff;
  peers: WireGuardPeer[];
}

export type MeshPeerEvent =
  | { type: "MEMBERS"; machines: MachineRecord[] }
  | { type: "WATCH_FAILED"; reason: string }
  /** From the stats watch: what the interface says of every peer now. */
  | { type: "PEER_STATS"; stats: WireGuardInterfaceStats }
  | { type: "STATS_FAILED"; reason: string };

/** To the stats watch: a change was applied, read the interface now. */
export type StatsWatchEvent = { type: "READ_NOW" };
export interface StatsWatchInput {
  interface: MeshInterface;
  /** The regular pace of reads. */
  intervalMs: number;
}

type MeshLinkRef = ActorRefFrom<typeof meshLinkMachine>;

export interface MeshPeerContext {
  members: MachineRecord[];
  /** How many membership updates arrived since this actor started. */
  updates: number;
  failure: string | undefined;
  mesh: Required<MeshSettings> | undefined;
  interface: MeshInterface | undefined;
  /** The peers the interface holds (after the last apply that succeeded). */
  applied: WireGuardPeer[];
  /** The change being applied now. */
  pending: PeerChange | undefined;
  /** Members that are not peers, and why. */
  ignored: IgnoredMember[];
  /** One link actor per peer, by machine id. */
  links: Record<string, MeshLinkRef>;
  /** How many changes were applied to the interface. */
  applies: number;
}

/** What a crashed meshPeer hands its supervisor. */
export interface MeshPeerOutput {
  error: string;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The change membership asks for now, against what the interface holds. */
function nextChange(context: MeshPeerContext): { change: PeerChange; ignored: IgnoredMember[] } | undefined {
  if (!context.mesh || !context.interface) return undefined;
  const self = { machineId: context.mesh.machineId, publicKey: context.interface.publicKey, ...(context.mesh.subnet ? { subnet: context.mesh.subnet } : {}) };
  const plan = planPeers(context.members, self);
  return { change: { interface: context.interface, diff: diffPeers(context.applied, plan.peers), peers: plan.peers }, ignored: plan.ignored };
}

/**
 * Keeps this machine's WireGuard interface in line with cluster membership (the `machines` KV).
 * With mesh settings: creates (or adopts) the interface, then applies the peer diff each time
 * membership changes — one change at a time, the latest membership winning — and spawns one
 * `meshLink` per peer whose state (configuring, up, stale, removed) follows the handshakes the
 * stats watch reads. Without them (one dev machine) it only follows membership.
 * Any failure (the watch, the interface, an apply) ends it in `crashed`; its supervisor restarts
 * it, and a fresh start re-applies the whole peer set to the interface it adopts.
 */
export const meshPeerMachine = setup({
  types: {
    context: {} as MeshPeerContext,
    events: {} as MeshPeerEvent,
    input: {} as MeshPeerInput,
    output: {} as MeshPeerOutput,
  },
  actors: {
    watchMachines: fromCallback<MeshPeerEvent>(() => {
      throw new Error("watchMachines not provided");
    }),
    ensureInterface: fromPromise<MeshInterface>(async () => {
      throw new Error("ensureInterface not provided");
    }),
    applyPeers: fromPromise<void, PeerChange>(async () => {
      throw new Error("applyPeers not provided");
    }),
    watchPeerStats: fromCallback<StatsWatchEvent, StatsWatchInput>(() => {
      throw new Error("watchPeerStats not provided");
    }),
    meshLink: meshLinkMachine,
  },
  guards: {
    meshConfigured: ({ context }) => context.mesh !== undefined,
    hasChange: ({ context }) => {
      const next = nextChange(context);
      return next !== undefined && !isEmptyDiff(next.change.diff);
    },
  },
  actions: {
    recordMembers: assign(({ context }, params: { machines: MachineRecord[] }) => ({ members: params.machines, updates: context.updates + 1 })),
    /** Takes the next change, spawns links for new peers, tells changed and removed ones. */
    beginChange: enqueueActions(({ context, enqueue }) => {
      const next = nextChange(context)!;
      const { diff } = next.change;
      const mesh = context.mesh!;
      enqueue.assign({
        pending: next.change,
        ignored: next.ignored,
        links: ({ spawn }) => {
          const links = { ...context.links };
          for (const peer of diff.added) {
            links[peer.machineId] = spawn("meshLink", {
              id: `peer:${peer.machineId}`,
              input: { peer, staleAfterMs: mesh.staleAfterMs, now: mesh.now },
            });
          }
          return links;
        },
      });
      for (const { to } of diff.changed) {
        const link = context.links[to.machineId];
        if (link) enqueue.sendTo(link, { type: "CHANGED", peer: to });
      }
      for (const peer of diff.removed) {
        const link = context.links[peer.machineId];
        if (link) enqueue.sendTo(link, { type: "REMOVE" });
      }
    }),
    /** The interface holds the pending change: links learn it, removed ones go. */
    finishChange: enqueueActions(({ context, enqueue }) => {
      const change = context.pending!;
      const links = { ...context.links };
      for (const peer of [...change.diff.added, ...change.diff.changed.map((c) => c.to)]) {
        const link = links[peer.machineId];
        if (link) enqueue.sendTo(link, { type: "CONFIGURED" });
      }
      for (const peer of change.diff.removed) {
        const link = links[peer.machineId];
        if (link) enqueue.stopChild(link);
        delete links[peer.machineId];
      }
      enqueue.assign({ applied: change.peers, pending: undefined, links, applies: context.applies + 1 });
      // New peers: their handshakes are read at once and then quickly, not at the next regular read.
      if (change.diff.added.length + change.diff.changed.length > 0) enqueue.sendTo("statsWatch", { type: "READ_NOW" });
    }),
    /** Nothing to apply: what is ignored, and peers' names, may still have changed. */
    settle: assign(({ context }) => {
      const next = nextChange(context);
      return next ? { ignored: next.ignored, applied: next.change.peers } : {};
    }),
    forwardStats: enqueueActions(({ context, enqueue }, params: { stats: WireGuardInterfaceStats }) => {
      const byKey = new Map(params.stats.peers.map((p) => [p.publicKey, p]));
      for (const peer of context.pending?.peers ?? context.applied) {
        const link = context.links[peer.machineId];
        if (link) enqueue.sendTo(link, { type: "STATS", stats: byKey.get(peer.publicKey) });
      }
    }),
    fail: assign((_, params: { failure: string }) => ({ failure: params.failure })),
  },
}).createMachine({
  id: "meshPeer",
  context: ({ input }) => ({
    members: [],
    updates: 0,
    failure: undefined,
    mesh: input.mesh && {
      ...input.mesh,
      subnet: input.mesh.subnet ?? "",
      staleAfterMs: input.mesh.staleAfterMs ?? HANDSHAKE_STALE_AFTER_MS,
      statsIntervalMs: input.mesh.statsIntervalMs ?? 5_000,
      now: input.mesh.now ?? Date.now,
    },
    interface: undefined,
    applied: [],
    pending: undefined,
    ignored: [],
    links: {},
    applies: 0,
  }),
  initial: "watching",
  states: {
    watching: {
      invoke: {
        src: "watchMachines",
        onError: {
          target: "crashed",
          actions: { type: "fail", params: ({ event }) => ({ failure: `machines watch failed: ${message(event.error)}` }) },
        },
      },
      on: {
        MEMBERS: { actions: { type: "recordMembers", params: ({ event }) => ({ machines: event.machines }) } },
        WATCH_FAILED: {
          target: "crashed",
          actions: { type: "fail", params: ({ event }) => ({ failure: `machines watch failed: ${event.reason}` }) },
        },
      },
      initial: "choosing",
      states: {
        choosing: { always: [{ guard: "meshConfigured", target: "creatingInterface" }, { target: "idle" }] },
        /** No WireGuard on this machine: membership is followed, nothing is applied. */
        idle: {},
        creatingInterface: {
          invoke: {
            src: "ensureInterface",
            onDone: { target: "connected", actions: assign({ interface: ({ event }) => event.output }) },
            onError: {
              target: "#meshPeer.crashed",
              actions: { type: "fail", params: ({ event }) => ({ failure: `WireGuard interface: ${message(event.error)}` }) },
            },
          },
        },
        connected: {
          invoke: {
            id: "statsWatch",
            src: "watchPeerStats",
            input: ({ context }) => ({ interface: context.interface!, intervalMs: context.mesh!.statsIntervalMs }),
            onError: {
              target: "#meshPeer.crashed",
              actions: { type: "fail", params: ({ event }) => ({ failure: `WireGuard stats: ${message(event.error)}` }) },
            },
          },
          on: {
            PEER_STATS: { actions: { type: "forwardStats", params: ({ event }) => ({ stats: event.stats }) } },
            STATS_FAILED: {
              target: "#meshPeer.crashed",
              actions: { type: "fail", params: ({ event }) => ({ failure: `WireGuard stats: ${event.reason}` }) },
            },
          },
          initial: "reconciling",
          states: {
            reconciling: { always: [{ guard: "hasChange", target: "applying" }, { target: "inSync", actions: "settle" }] },
            applying: {
              entry: "beginChange",
              invoke: {
                src: "applyPeers",
                input: ({ context }) => context.pending!,
                onDone: { target: "reconciling", actions: "finishChange" },
                onError: {
                  target: "#meshPeer.crashed",
                  actions: { type: "fail", params: ({ event }) => ({ failure: `applying WireGuard peers: ${message(event.error)}` }) },
                },
              },
            },
            inSync: {
              on: {
                MEMBERS: { target: "reconciling", actions: { type: "recordMembers", params: ({ event }) => ({ machines: event.machines }) } },
              },
            },
          },
        },
      },
    },
    crashed: { type: "final" },
  },
  output: ({ context }) => ({ error: context.failure ?? "meshPeer ended" }),
});
