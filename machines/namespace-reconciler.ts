import { assign, fromPromise, setup } from "xstate";
import type { DeployOutcome } from "../model/deploy.ts";
import type { Repair } from "../model/reconcile.ts";
import { backoffDelay, type SupervisionPolicy } from "../model/supervision.ts";
import { deployMachine, type DeployTiming } from "./deploy.ts";
import { failureOf, type Failure } from "./failure.ts";

export interface NamespaceReconcilerInput {
  namespace: string;
  machineId: string;
  incarnation: string;
  /** How often it looks without being poked. */
  intervalMs: number;
  /** Pokes that come close together are one check. */
  debounceMs: number;
  /** Backoff between repairs that failed (a crash-looping container must not become a deploy loop). */
  repairBackoff: SupervisionPolicy;
  timing: DeployTiming;
}

/** What one check did and found. */
export interface ReconcileCheck {
  /** One line per record written (also recorded as Status). */
  notes: string[];
  /** A repair to run now, with the deploy id its coordinator takes. */
  repair: (Repair & { deployId: string }) | null;
  /** Why nothing more was done, e.g. another deploy holds the lease. */
  deferred?: string;
}

export interface NamespaceReconcilerContext extends NamespaceReconcilerInput {
  checks: number;
  lastCheck: { at: number; notes: string[]; deferred?: string } | undefined;
  lastFailure: Failure | undefined;
  repair: (Repair & { deployId: string }) | undefined;
  repairs: number;
  /** Repairs that failed in a row, and when the next may run. */
  failedRepairs: number;
  nextRepairAt: number;
  /** A poke came while busy: check again right after. */
  poked: boolean;
}

export type NamespaceReconcilerEvent = { type: "POKE"; reason: string };

/**
 * The reconciler of one namespace, on the machine that holds its authority. At start, when
 * poked (a commit or fence on `commits.<ns>`, a container event) and on a timer it `checks`:
 * rolls the head forward (the derived records, compare-and-set, no lease needed) and decides
 * whether a repair is due — containers the head does not name, or dead instances its restart
 * policy wants back. A repair is a deploy coordinator of its own (`repairing`), which takes the
 * lease and fences the namespace before it removes or replaces anything; repairs that fail back
 * off. Everything it does is recorded as Status (`status.<ns>.reconcile`).
 */
export const namespaceReconcilerMachine = setup({
  types: {
    context: {} as NamespaceReconcilerContext,
    input: {} as NamespaceReconcilerInput,
    events: {} as NamespaceReconcilerEvent,
  },
  actors: {
    check: fromPromise<ReconcileCheck, { namespace: string }>(async () => {
      throw new Error("check not provided");
    }),
    repair: deployMachine,
  },
  actions: {
    /** Durable Status: a repair's outcome. */
    recordRepair: (_, _params: { namespace: string; reason: string; outcome: DeployOutcome }) => {},
  },
  guards: {
    repairDue: ({ context }, params: { check: ReconcileCheck }) => params.check.repair !== null && context.timing.now() >= context.nextRepairAt,
    repairFailed: (_, params: { outcome: DeployOutcome }) => params.outcome.type === "failed",
    poked: ({ context }) => context.poked,
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    debounce: ({ context }) => context.debounceMs,
  },
}).createMachine({
  id: "namespaceReconciler",
  context: ({ input }) => ({
    ...input,
    checks: 0,
    lastCheck: undefined,
    lastFailure: undefined,
    repair: undefined,
    repairs: 0,
    failedRepairs: 0,
    nextRepairAt: 0,
    poked: false,
  }),
  initial: "checking",
  states: {
    idle: {
      entry: assign({ poked: false }),
      after: { interval: "checking" },
      on: { POKE: "waiting" },
    },
    waiting: {
      after: { debounce: "checking" },
    },
    checking: {
      entry: assign({ poked: false }),
      on: { POKE: { actions: assign({ poked: true }) } },
      invoke: {
        src: "check",
        input: ({ context }) => ({ namespace: context.namespace }),
        onDone: [
          {
            guard: { type: "repairDue", params: ({ event }) => ({ check: event.output }) },
            target: "repairing",
            actions: assign({
              checks: ({ context }) => context.checks + 1,
              lastCheck: ({ context, event }) => ({ at: context.timing.now(), notes: event.output.notes }),
              repair: ({ event }) => event.output.repair!,
            }),
          },
          {
            target: "settled",
            actions: assign({
              checks: ({ context }) => context.checks + 1,
              lastCheck: ({ context, event }) => ({ at: context.timing.now(), notes: event.output.notes, ...(event.output.deferred ? { deferred: event.output.deferred } : {}) }),
            }),
          },
        ],
        onError: { target: "settled", actions: assign({ checks: ({ context }) => context.checks + 1, lastFailure: ({ event }) => failureOf("check", event.error) }) },
      },
    },
    repairing: {
      on: { POKE: { actions: assign({ poked: true }) } },
      invoke: {
        src: "repair",
        input: ({ context }) => ({
          deployId: context.repair!.deployId,
          namespace: context.namespace,
          machineId: context.machineId,
          incarnation: context.incarnation,
          operation: context.repair!.operation,
          preview: false,
          timing: context.timing,
        }),
        onDone: [
          {
            guard: { type: "repairFailed", params: ({ event }) => ({ outcome: event.output }) },
            target: "settled",
            actions: [
              { type: "recordRepair", params: ({ context, event }) => ({ namespace: context.namespace, reason: context.repair!.reason, outcome: event.output }) },
              assign({
                repairs: ({ context }) => context.repairs + 1,
                failedRepairs: ({ context }) => context.failedRepairs + 1,
                nextRepairAt: ({ context }) => context.timing.now() + backoffDelay(context.failedRepairs + 1, context.repairBackoff),
                lastFailure: ({ event }) => (event.output.type === "failed" ? { phase: event.output.phase, code: event.output.code, reason: event.output.reason } : undefined),
                repair: undefined,
              }),
            ],
          },
          {
            // Check again at once: the repair's own roll-forward may have left something to confirm.
            target: "checking",
            actions: [
              { type: "recordRepair", params: ({ context, event }) => ({ namespace: context.namespace, reason: context.repair!.reason, outcome: event.output }) },
              // Even a repair that worked is not repeated at once: a container that keeps dying must not become a deploy loop.
              assign({
                repairs: ({ context }) => context.repairs + 1,
                failedRepairs: 0,
                nextRepairAt: ({ context }) => context.timing.now() + context.repairBackoff.initialBackoffMs,
                lastFailure: undefined,
                repair: undefined,
              }),
            ],
          },
        ],
      },
    },
    // A check or repair just ended: a poke that came meanwhile is not lost.
    settled: {
      always: [{ guard: "poked", target: "waiting" }, { target: "idle" }],
    },
  },
});
