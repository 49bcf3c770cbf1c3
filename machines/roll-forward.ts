import { assign, fromPromise, setup } from "xstate";
import type { DeadInstance, Leftover } from "../model/roll-forward.ts";
import { failureOf, type Failure } from "./failure.ts";

export interface RollForwardInput {
  namespace: string;
  /** The deploy (or reconcile run) rolling forward; its own candidates are never leftovers. */
  deployId: string;
  /** The fence token of the lease holder; without one, leftovers are reported, not removed. */
  token: number | undefined;
  /** How long a routed instance keeps serving after routing moved on. */
  drainMs: number;
}

/** What `derive` found and wrote. */
export interface Derived {
  /** One line per record written (Status). */
  notes: string[];
  leftovers: Leftover[];
  dead: DeadInstance[];
  /** The last ROUTING sequence the namespace's records are at, and the machines whose gateways serve it. */
  routingSeq: number;
  /** This roll-forward wrote routing records: the gateways must serve them before it is done. */
  routingChanged: boolean;
  gateways: string[];
}

export interface RollForwardContext extends RollForwardInput {
  derived: Derived | undefined;
  notes: string[];
  failure: Failure | undefined;
}

export interface RollForwardOutput {
  failure: Failure | undefined;
  notes: string[];
  dead: DeadInstance[];
}

/**
 * Brings everything derived from the namespace's head commit in line with it, idempotently:
 * `deriving` writes the instance records, routing records and the namespace record (each a
 * compare-and-set that a newer head wins); then, for a lease holder, containers the head does not
 * name leave — once every gateway routes past them (`awaitingRouting`) and the drain delay has
 * passed (`draining`). Run after a commit, before planning (to settle what a dead coordinator
 * left), and by the reconciler; running it twice does nothing more.
 */
export const rollForwardMachine = setup({
  types: {
    context: {} as RollForwardContext,
    input: {} as RollForwardInput,
    output: {} as RollForwardOutput,
  },
  actors: {
    derive: fromPromise<Derived, { namespace: string; deployId: string }>(async () => {
      throw new Error("derive not provided");
    }),
    waitForRouting: fromPromise<string[], { routingSeq: number; gateways: string[] }>(async () => []),
    removeLeftovers: fromPromise<string[], { namespace: string; deployId: string; token: number; leftovers: Leftover[] }>(async () => []),
  },
  guards: {
    nothingToRemove: ({ context }, params: { derived: Derived }) => params.derived.leftovers.length === 0 || context.token === undefined,
    /** Done at once: nothing to remove and no routing to wait for. */
    settled: ({ context }, params: { derived: Derived }) => !params.derived.routingChanged && (params.derived.leftovers.length === 0 || context.token === undefined),
  },
  delays: {
    // Never-routed leftovers (a dead deploy's candidates) need no drain.
    drain: ({ context }) => (context.derived!.leftovers.some((l) => l.routed) ? context.drainMs : 0),
  },
}).createMachine({
  id: "rollForward",
  context: ({ input }) => ({ ...input, derived: undefined, notes: [], failure: undefined }),
  initial: "deriving",
  states: {
    deriving: {
      invoke: {
        src: "derive",
        input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId }),
        onDone: [
          { guard: { type: "settled", params: ({ event }) => ({ derived: event.output }) }, target: "done", actions: assign({ derived: ({ event }) => event.output, notes: ({ event }) => event.output.notes }) },
          { target: "awaitingRouting", actions: assign({ derived: ({ event }) => event.output, notes: ({ event }) => event.output.notes }) },
        ],
        onError: { target: "failed", actions: assign({ failure: ({ event }) => failureOf("derive", event.error) }) },
      },
    },
    awaitingRouting: {
      invoke: {
        src: "waitForRouting",
        input: ({ context }) => ({ routingSeq: context.derived!.routingSeq, gateways: context.derived!.gateways }),
        onDone: { target: "draining", actions: assign({ notes: ({ context, event }) => [...context.notes, ...event.output] }) },
        onError: { target: "draining", actions: assign({ notes: ({ context, event }) => [...context.notes, `routing not confirmed: ${failureOf("routing", event.error).reason}`] }) },
      },
    },
    draining: {
      after: {
        drain: [{ guard: { type: "nothingToRemove", params: ({ context }) => ({ derived: context.derived! }) }, target: "done" }, { target: "removing" }],
      },
    },
    removing: {
      invoke: {
        src: "removeLeftovers",
        input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, token: context.token!, leftovers: context.derived!.leftovers }),
        onDone: { target: "done", actions: assign({ notes: ({ context, event }) => [...context.notes, ...event.output] }) },
        onError: { target: "failed", actions: assign({ failure: ({ event }) => failureOf("drain", event.error) }) },
      },
    },
    done: { type: "final" },
    failed: { type: "final" },
  },
  output: ({ context }) => ({ failure: context.failure, notes: context.notes, dead: context.derived?.dead ?? [] }),
});
