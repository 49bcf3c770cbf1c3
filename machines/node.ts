import { assign, fromPromise, setup } from "xstate";
import { supervisedChildMachine } from "./supervised-child.ts";

/** The long-lived children every node supervises, in start order. */
export const NODE_CHILDREN = ["participant", "api", "reconciler", "inspector", "meshPeer", "access", "joinListener", "gateway", "dns"] as const;
export type NodeChildName = (typeof NODE_CHILDREN)[number];

export interface NodeInput {
  machineId: string;
  now: () => number;
  /** Inputs of the children that take one (the others get `{ name }`). */
  childInputs?: Partial<Record<NodeChildName, unknown>>;
}

export interface NodeContext {
  machineId: string;
  now: () => number;
  childInputs: Partial<Record<NodeChildName, unknown>>;
  error: string | undefined;
}

export type NodeEvent = { type: "STOP" };

/** The input of the supervisedChild that runs `name`. */
function supervised(name: NodeChildName, context: NodeContext) {
  const childInput = context.childInputs[name];
  return { name, now: context.now, ...(childInput === undefined ? {} : { childInput }) };
}

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
    /** Tells the API to take nothing new and waits (bounded) until its coordinators compensated or handed over. */
    handOver: fromPromise<void, { machineId: string }>(async () => {}),
    participant: supervisedChildMachine,
    api: supervisedChildMachine,
    reconciler: supervisedChildMachine,
    inspector: supervisedChildMachine,
    meshPeer: supervisedChildMachine,
    /** Keeps who this machine's nats-server admits in line with KV machines and KV credentials. */
    access: supervisedChildMachine,
    /** Open on the underlay while this machine has invites outstanding; answers joins. */
    joinListener: supervisedChildMachine,
    gateway: supervisedChildMachine,
    dns: supervisedChildMachine,
  },
}).createMachine({
  id: "node",
  context: ({ input }) => ({ machineId: input.machineId, now: input.now, childInputs: input.childInputs ?? {}, error: undefined }),
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
        { id: "participant", systemId: "participant", src: "participant", input: ({ context }) => supervised("participant", context) },
        { id: "api", systemId: "api", src: "api", input: ({ context }) => supervised("api", context) },
        { id: "reconciler", systemId: "reconciler", src: "reconciler", input: ({ context }) => supervised("reconciler", context) },
        { id: "inspector", systemId: "inspector", src: "inspector", input: ({ context }) => supervised("inspector", context) },
        { id: "meshPeer", systemId: "meshPeer", src: "meshPeer", input: ({ context }) => supervised("meshPeer", context) },
        { id: "access", systemId: "access", src: "access", input: ({ context }) => supervised("access", context) },
        { id: "joinListener", systemId: "joinListener", src: "joinListener", input: ({ context }) => supervised("joinListener", context) },
        { id: "gateway", systemId: "gateway", src: "gateway", input: ({ context }) => supervised("gateway", context) },
        { id: "dns", systemId: "dns", src: "dns", input: ({ context }) => supervised("dns", context) },
      ],
      initial: "serving",
      states: {
        serving: { on: { STOP: "handingOver" } },
        // Children keep running while deploys in flight compensate or hand over to the reconciler.
        handingOver: {
          invoke: { src: "handOver", input: ({ context }) => ({ machineId: context.machineId }), onDone: "#node.stopping", onError: "#node.stopping" },
        },
      },
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
