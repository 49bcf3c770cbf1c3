import { assign, fromPromise, setup } from "xstate";
import { supervisedChildMachine } from "./supervised-child.ts";

/** The long-lived children every node supervises, in start order. */
export const NODE_CHILDREN = ["participant", "api", "inspector", "meshPeer", "gateway", "dns"] as const;
export type NodeChildName = (typeof NODE_CHILDREN)[number];

export interface NodeInput {
  machineId: string;
  now: () => number;
}

export interface NodeContext {
  machineId: string;
  now: () => number;
  error: string | undefined;
}

export type NodeEvent = { type: "STOP" };

/**
 * The per-machine supervisor: registers this machine's membership, then keeps every long-lived
 * child running under a supervisedChild machine. Effects (registration, the children themselves,
 * the final Status record) are actors provided by runtime/.
 */
export const nodeMachine = setup({
  types: {
    context: {} as NodeContext,
    input: {} as NodeInput,
    events: {} as NodeEvent,
  },
  actors: {
    registerMachine: fromPromise<void, { machineId: string }>(async () => {
      throw new Error("registerMachine not provided");
    }),
    recordStopped: fromPromise<void, { machineId: string }>(async () => {}),
    participant: supervisedChildMachine,
    api: supervisedChildMachine,
    inspector: supervisedChildMachine,
    meshPeer: supervisedChildMachine,
    gateway: supervisedChildMachine,
    dns: supervisedChildMachine,
  },
}).createMachine({
  id: "node",
  context: ({ input }) => ({ machineId: input.machineId, now: input.now, error: undefined }),
  initial: "registering",
  states: {
    registering: {
      invoke: {
        src: "registerMachine",
        input: ({ context }) => ({ machineId: context.machineId }),
        onDone: "running",
        onError: {
          target: "failed",
          actions: assign({ error: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)) }),
        },
      },
      on: { STOP: "stopped" },
    },
    running: {
      invoke: [
        { id: "participant", systemId: "participant", src: "participant", input: ({ context }) => ({ name: "participant", now: context.now }) },
        { id: "api", systemId: "api", src: "api", input: ({ context }) => ({ name: "api", now: context.now }) },
        { id: "inspector", systemId: "inspector", src: "inspector", input: ({ context }) => ({ name: "inspector", now: context.now }) },
        { id: "meshPeer", systemId: "meshPeer", src: "meshPeer", input: ({ context }) => ({ name: "meshPeer", now: context.now }) },
        { id: "gateway", systemId: "gateway", src: "gateway", input: ({ context }) => ({ name: "gateway", now: context.now }) },
        { id: "dns", systemId: "dns", src: "dns", input: ({ context }) => ({ name: "dns", now: context.now }) },
      ],
      on: { STOP: "stopping" },
    },
    stopping: {
      invoke: {
        src: "recordStopped",
        input: ({ context }) => ({ machineId: context.machineId }),
        onDone: "stopped",
        onError: "stopped",
      },
    },
    stopped: { type: "final" },
    failed: { type: "final" },
  },
});
