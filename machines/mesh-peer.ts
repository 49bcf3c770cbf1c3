import { assign, fromCallback, setup } from "xstate";
import type { MachineRecord } from "../model/machine.ts";

export type MeshPeerEvent =
  | { type: "MEMBERS"; machines: MachineRecord[] }
  | { type: "WATCH_FAILED"; reason: string };

export interface MeshPeerContext {
  members: MachineRecord[];
  /** How many membership updates were applied since this actor started. */
  updates: number;
  failure: string | undefined;
}

/** What a crashed meshPeer hands its supervisor. */
export interface MeshPeerOutput {
  error: string;
}

/**
 * Follows cluster membership (the `machines` KV) and applies it to this machine's peers.
 * In this version applying is bookkeeping only; WireGuard peers come with the mesh.
 * A watch that fails ends this actor in `crashed` (leaving `watching` stops the watch), and its
 * supervisor restarts it.
 */
export const meshPeerMachine = setup({
  types: {
    context: {} as MeshPeerContext,
    events: {} as MeshPeerEvent,
    input: {} as { name: string },
    output: {} as MeshPeerOutput,
  },
  actors: {
    watchMachines: fromCallback<MeshPeerEvent>(() => {
      throw new Error("watchMachines not provided");
    }),
  },
  actions: {
    applyPeers: (_, _params: { machines: MachineRecord[] }) => {},
  },
}).createMachine({
  id: "meshPeer",
  context: { members: [], updates: 0, failure: undefined },
  initial: "watching",
  states: {
    watching: {
      invoke: {
        src: "watchMachines",
        onError: {
          target: "crashed",
          actions: assign({
            failure: ({ event }) => `machines watch failed: ${event.error instanceof Error ? event.error.message : String(event.error)}`,
          }),
        },
      },
      on: {
        MEMBERS: {
          actions: [
            assign({ members: ({ event }) => event.machines, updates: ({ context }) => context.updates + 1 }),
            { type: "applyPeers", params: ({ event }) => ({ machines: event.machines }) },
          ],
        },
        WATCH_FAILED: {
          target: "crashed",
          actions: assign({ failure: ({ event }) => `machines watch failed: ${event.reason}` }),
        },
      },
    },
    crashed: { type: "final" },
  },
  output: ({ context }) => ({ error: context.failure ?? "meshPeer ended" }),
});
