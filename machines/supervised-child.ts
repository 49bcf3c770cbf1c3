import { assign, fromPromise, setup } from "xstate";
import {
  backoffDelay,
  DEFAULT_SUPERVISION_POLICY,
  isCrashLoop,
  recentCrashes,
  type SupervisionPolicy,
} from "../model/supervision.ts";

export interface SupervisedChildInput {
  name: string;
  /** The child's own input; `{ name }` when absent. */
  childInput?: unknown;
  policy?: SupervisionPolicy;
  /** Wall-clock source; tests pass the simulated clock's. */
  now: () => number;
}

export interface SupervisedChildContext {
  name: string;
  childInput: unknown;
  policy: SupervisionPolicy;
  now: () => number;
  restarts: number;
  crashTimes: number[];
  lastError: string | undefined;
  /** When the current state was entered (ms since epoch). */
  since: number;
}

export type SupervisedChildEvent =
  | { type: "STOP" }
  /** Operator asks to try a failed child again. */
  | { type: "RESTART" }
  /** Fault injection for tests and `ployzctl debug crash`: treated exactly like a crash. */
  | { type: "INJECT_CRASH"; reason: string }
  /** Start the child afresh, now, without counting a crash (what it drives was replaced, e.g. a restarted Caddy). */
  | { type: "REFRESH"; reason: string };

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error);
}

function exitReason(output: unknown): string {
  const error = (output as { error?: unknown } | undefined)?.error;
  return typeof error === "string" ? error : "exited unexpectedly";
}

/**
 * Keeps one long-lived child running: restarts it with exponential backoff when it crashes or
 * exits, and marks it `failed` (visibly, never looping) after too many crashes in a window.
 * The child itself is the `child` actor, provided by runtime/ with `.provide({ actors })`.
 */
export const supervisedChildMachine = setup({
  types: {
    context: {} as SupervisedChildContext,
    input: {} as SupervisedChildInput,
    events: {} as SupervisedChildEvent,
  },
  actors: {
    // Any logic fits (runtime/ provides it); its input is `childInput`, `{ name }` unless given.
    child: fromPromise<void, { name: string }>(async () => {
      throw new Error("no child actor provided");
    }),
  },
  guards: {
    crashLoop: ({ context }) => isCrashLoop(context.crashTimes, context.now(), context.policy),
  },
  actions: {
    recordCrash: assign(({ context }, params: { reason: string }) => ({
      crashTimes: recentCrashes(context.crashTimes, context.now(), context.policy),
      lastError: params.reason,
    })),
    markSince: assign(({ context }) => ({ since: context.now() })),
    countRestart: assign(({ context }) => ({ restarts: context.restarts + 1 })),
    forgetCrashes: assign({ crashTimes: [] as number[] }),
  },
  delays: {
    backoff: ({ context }) => backoffDelay(context.crashTimes.length, context.policy),
  },
}).createMachine({
  id: "supervisedChild",
  context: ({ input }) => ({
    name: input.name,
    childInput: input.childInput ?? { name: input.name },
    policy: input.policy ?? DEFAULT_SUPERVISION_POLICY,
    now: input.now,
    restarts: 0,
    crashTimes: [],
    lastError: undefined,
    since: input.now(),
  }),
  initial: "running",
  on: { STOP: ".stopped" },
  states: {
    running: {
      entry: "markSince",
      invoke: {
        id: "child",
        src: "child",
        input: ({ context }: { context: SupervisedChildContext }) => context.childInput as { name: string },
        // A long-lived child that finishes has crashed too; its output may say why.
        onDone: [
          { guard: "crashLoop", target: "failed", actions: { type: "recordCrash", params: ({ event }) => ({ reason: exitReason(event.output) }) } },
          { target: "backoff", actions: { type: "recordCrash", params: ({ event }) => ({ reason: exitReason(event.output) }) } },
        ],
        onError: [
          { guard: "crashLoop", target: "failed", actions: { type: "recordCrash", params: ({ event }) => ({ reason: describe(event.error) }) } },
          { target: "backoff", actions: { type: "recordCrash", params: ({ event }) => ({ reason: describe(event.error) }) } },
        ],
      },
      on: {
        REFRESH: { target: "running", reenter: true, actions: ["countRestart", assign({ lastError: ({ event }) => `refreshed: ${event.reason}` })] },
        INJECT_CRASH: [
          { guard: "crashLoop", target: "failed", actions: { type: "recordCrash", params: ({ event }) => ({ reason: event.reason }) } },
          { target: "backoff", actions: { type: "recordCrash", params: ({ event }) => ({ reason: event.reason }) } },
        ],
      },
    },
    backoff: {
      entry: "markSince",
      after: { backoff: { target: "running", actions: "countRestart" } },
    },
    failed: {
      entry: "markSince",
      on: { RESTART: { target: "running", actions: ["forgetCrashes", "countRestart"] } },
    },
    stopped: { entry: "markSince", type: "final" },
  },
});
