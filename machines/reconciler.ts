import { assign, fromCallback, sendTo, setup, spawnChild } from "xstate";
import type { SupervisionPolicy } from "../model/supervision.ts";
import type { DeployTiming } from "./deploy.ts";
import { namespaceReconcilerMachine } from "./namespace-reconciler.ts";

export interface ReconcilerInput {
  machineId: string;
  incarnation: string;
  intervalMs: number;
  debounceMs: number;
  repairBackoff: SupervisionPolicy;
  timing: DeployTiming;
}

export interface ReconcilerContext extends ReconcilerInput {
  /** Namespaces this machine reconciles (it holds their authority). */
  namespaces: string[];
  lastError: string | undefined;
}

/** From the watcher: something happened to a namespace this machine holds the authority of; or the watcher failed. */
export type ReconcilerEvent = { type: "NAMESPACE"; namespace: string; reason: string } | { type: "WATCH_FAILED"; error: string };

/** The namespace a NAMESPACE event names (spawn options see the machine's whole event union). */
const namespaceOf = (event: ReconcilerEvent) => (event as Extract<ReconcilerEvent, { type: "NAMESPACE" }>).namespace;

/** The id of a namespace's reconciler among the children. */
export const namespaceReconcilerId = (namespace: string) => `ns:${namespace}`;

/**
 * This machine's reconcilers: one `namespaceReconciler` per namespace whose authority it holds,
 * spawned the first time the watcher names it (at start-up it names every one), and poked on
 * every later commit, fence or container event of that namespace.
 */
export const reconcilerMachine = setup({
  types: {
    context: {} as ReconcilerContext,
    input: {} as ReconcilerInput,
    events: {} as ReconcilerEvent,
  },
  actors: {
    /** Names the namespaces to reconcile: all at start, then each one something happens to. */
    watch: fromCallback<ReconcilerEvent, { machineId: string }>(() => {}),
    namespaceReconciler: namespaceReconcilerMachine,
  },
  guards: {
    known: ({ context }, params: { namespace: string }) => context.namespaces.includes(params.namespace),
  },
}).createMachine({
  id: "reconciler",
  context: ({ input }) => ({ ...input, namespaces: [], lastError: undefined }),
  invoke: { id: "watch", src: "watch", input: ({ context }) => ({ machineId: context.machineId }) },
  output: ({ context }) => ({ error: context.lastError ?? "the reconciler's watch ended" }),
  initial: "running",
  states: {
    running: {},
    // The watch is how it hears of anything: without it, it is finished and its supervisor restarts it.
    crashed: { type: "final" },
  },
  on: {
    WATCH_FAILED: { target: ".crashed", actions: assign({ lastError: ({ event }) => event.error }) },
    NAMESPACE: [
      {
        guard: { type: "known", params: ({ event }) => ({ namespace: event.namespace }) },
        actions: sendTo(({ event }) => namespaceReconcilerId(event.namespace), ({ event }) => ({ type: "POKE" as const, reason: event.reason })),
      },
      {
        actions: [
          spawnChild("namespaceReconciler", {
            id: ({ event }) => namespaceReconcilerId(namespaceOf(event)),
            input: ({ context, event }) => ({
              namespace: namespaceOf(event),
              machineId: context.machineId,
              incarnation: context.incarnation,
              intervalMs: context.intervalMs,
              debounceMs: context.debounceMs,
              repairBackoff: context.repairBackoff,
              timing: context.timing,
            }),
          }),
          assign({ namespaces: ({ context, event }) => [...context.namespaces, event.namespace].sort() }),
        ],
      },
    ],
  },
});
