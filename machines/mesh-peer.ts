import { assign, fromCallback, setup } from "xstate";
import type { MachineRecord } from "../model/machine.ts";

export type MeshPeerEvent =
  | { type: "MEMBERS"; machines: MachineRecord[] }
  | { type: "WATCH_FAILED"; reason: string };

export interface MeshPeerContext {
  members: MachineRecord[];
  /** How many membership updates were applied since this actor started. */
  updates: number;
}

/**
 * Follows cluster membership (the `machines` KV) and applies it to this machine's peers.
 * In this version applying is bookkeeping only; WireGuard peers come with the mesh.
 * A watch that fails escalates to the supervisor, which restarts this actor.
 */
export const meshPeerMachine = setup({
  types: {
    context: {} as MeshPeerContext,
    events: {} as MeshPeerEvent,
    input: {} as { name: string },
  },
  actors: {
    watchMachines: fromCallback<MeshPeerEvent>(() => {
      throw new Error("watchMachines not provided");
    }),
  },
  actions: {
    applyPeers: (_, _params: { machines: MachineRecord[] }) => {},
    escalate: (_, params: { reason: string }) => {
      throw new Error(params.reason);
    },
  },
}).createMachine({
  id: "meshPeer",
  context: { members: [], updates: 0 },
  initial: "watching",
  states: {
    watching: {
      invoke: {
        src: "watchMachines",
        onError: {
          actions: {
            type: "escalate",
            params: ({ event }) => ({
              reason: `machines watch failed: ${event.error instanceof Error ? event.error.message : String(event.error)}`,
            }),
          },
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
          actions: { type: "escalate", params: ({ event }) => ({ reason: `machines watch failed: ${event.reason}` }) },
        },
      },
    },
  },
});
