import { assign, enqueueActions, fromCallback, sendTo, setup, spawnChild } from "xstate";
import type { DeployOutcome } from "../model/deploy.ts";
import { deployMachine, type DeployInput } from "./deploy.ts";

export interface ApiInput {
  machineId: string;
}

export interface ApiContext extends ApiInput {
  /** Deploy ids of the coordinators running now (children of this actor). */
  running: string[];
  lastError: string | undefined;
}

/** From the server (the NATS side of the API) and the node. */
export type ApiEvent =
  /** Run one operation: a coordinator is spawned as a child, named by its deploy id. */
  | { type: "RUN"; input: DeployInput }
  /** ployzd is stopping: take nothing new, let each coordinator compensate or hand over, then be `drained`. */
  | { type: "SHUTDOWN" }
  /** The server's subscription ended by itself: the API is finished and its supervisor restarts it. */
  | { type: "SERVER_FAILED"; error: string }
  /** A coordinator ended (XState's own event, named after the child). */
  | { type: `xstate.done.actor.${string}`; output: DeployOutcome }
  | { type: `xstate.error.actor.${string}`; error: unknown };

/** Told to the server when a coordinator ends, or could not start. */
export type ApiServerEvent =
  | { type: "FINISHED"; deployId: string; outcome: DeployOutcome }
  /** Not run (ployzd stopping), or its coordinator threw instead of ending with an outcome. */
  | { type: "REFUSED"; deployId: string; reason: string; stopping: boolean };

const DONE_PREFIX = "xstate.done.actor.";
const ERROR_PREFIX = "xstate.error.actor.";

/**
 * The API of this machine: `serve` answers `ployz.api.*` (a NATS queue group shared with every
 * machine) and asks for operations with RUN; each operation is a deploy coordinator spawned as a
 * child, so it is visible under the API in `ployz top` and stopped with it. On SHUTDOWN it takes
 * nothing new and waits for its coordinators: before their commit they compensate, after it they
 * hand what is left to the reconciler; then it is `drained`.
 */
export const apiMachine = setup({
  types: {
    context: {} as ApiContext,
    input: {} as ApiInput,
    events: {} as ApiEvent,
  },
  actors: {
    serve: fromCallback<ApiServerEvent, { machineId: string }>(() => {}),
    deploy: deployMachine,
  },
  actions: {
    spawnCoordinator: spawnChild("deploy", {
      id: ({ event }) => (event as Extract<ApiEvent, { type: "RUN" }>).input.deployId,
      input: ({ event }) => (event as Extract<ApiEvent, { type: "RUN" }>).input,
    }),
  },
  guards: {
    idle: ({ context }) => context.running.length === 0,
  },
}).createMachine({
  id: "api",
  output: ({ context }) => ({ error: context.lastError ?? "the API server ended" }),
  context: ({ input }) => ({ ...input, running: [], lastError: undefined }),
  invoke: {
    id: "serve",
    src: "serve",
    input: ({ context }) => ({ machineId: context.machineId }),
    // The server is the API: without it this actor is finished, and its supervisor restarts it.
    onError: { target: ".crashed", actions: assign({ lastError: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)) }) },
  },
  initial: "serving",
  on: {
    SERVER_FAILED: { target: ".crashed", actions: assign({ lastError: ({ event }) => event.error }) },
    // A coordinator ended: its outcome goes back to whoever asked.
    "xstate.done.actor.*": {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const id = event.type.slice(DONE_PREFIX.length);
        if (!context.running.includes(id)) return;
        enqueue.assign({ running: context.running.filter((r) => r !== id) });
        enqueue.stopChild(id); // a finished coordinator leaves the tree (its outcome went to whoever asked)
        enqueue.sendTo("serve", { type: "FINISHED", deployId: id, outcome: event.output } satisfies ApiServerEvent);
      }),
    },
    // None should throw (every failure is an outcome), but if one does, the caller hears it.
    "xstate.error.actor.*": {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const id = event.type.slice(ERROR_PREFIX.length);
        if (!context.running.includes(id)) return;
        const error = event.error;
        enqueue.assign({ running: context.running.filter((r) => r !== id) });
        enqueue.stopChild(id);
        enqueue.sendTo("serve", { type: "REFUSED", deployId: id, reason: `its coordinator crashed: ${error instanceof Error ? error.message : String(error)}`, stopping: false } satisfies ApiServerEvent);
      }),
    },
  },
  states: {
    serving: {
      on: {
        RUN: { actions: ["spawnCoordinator", assign({ running: ({ context, event }) => [...context.running, event.input.deployId] })] },
        SHUTDOWN: "handingOver",
      },
    },
    handingOver: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const id of context.running) enqueue.sendTo(id, { type: "SHUTDOWN" });
      }),
      always: { guard: "idle", target: "drained" },
      on: { RUN: { actions: sendTo("serve", ({ event }) => ({ type: "REFUSED", deployId: event.input.deployId, reason: "ployzd is stopping", stopping: true }) satisfies ApiServerEvent) } },
    },
    crashed: { type: "final" },
    drained: {
      on: { RUN: { actions: sendTo("serve", ({ event }) => ({ type: "REFUSED", deployId: event.input.deployId, reason: "ployzd is stopping", stopping: true }) satisfies ApiServerEvent) } },
    },
  },
});
