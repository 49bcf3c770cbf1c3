import { assign, fromCallback, fromPromise, sendTo, setup } from "xstate";
import type { NamespaceSpec } from "../model/manifest.ts";
import type { DeployOutcome, StartedCandidate, World } from "../model/deploy.ts";
import type { Plan } from "../model/plan.ts";

export interface DeployInput {
  deployId: string;
  namespace: string;
  spec: NamespaceSpec;
  preview: boolean;
  planHash?: string;
  rollbackOf?: number;
}

export interface Failure {
  phase: string;
  reason: string;
  code: string;
}

export interface DeployContext extends DeployInput {
  world: World | undefined;
  plan: Plan | undefined;
  /** Machines whose participant lock this deploy holds. */
  locked: string[];
  started: StartedCandidate[];
  commitSeq: number | undefined;
  failure: Failure | undefined;
  warnings: string[];
}

export type DeployEvent =
  | { type: "STARTED"; candidate: StartedCandidate }
  | { type: "START_FAILED"; error: unknown }
  | { type: "ALL_STARTED" }
  | { type: "LEASE_LOST"; reason: string }
  | { type: "LOCKED"; machines: string[] };

function failure(phase: string, error: unknown): Failure {
  const e = error as { message?: string; code?: string };
  return { phase, reason: e?.message ?? String(error), code: e?.code ?? "internal" };
}


/**
 * One deploy of one namespace, from lease to drain. Before the commit any failure removes every
 * candidate this deploy started, records the failed phase and ends in `failed`; the previous
 * commit stays untouched. The commit is the point of no return. Never restarted: its failure is
 * the operation's failure. Every effect is an actor provided by runtime/.
 */
export const deployMachine = setup({
  types: {
    context: {} as DeployContext,
    input: {} as DeployInput,
    events: {} as DeployEvent,
    output: {} as DeployOutcome,
  },
  actors: {
    acquireLease: fromPromise<void, { namespace: string; deployId: string }>(async () => {
      throw new Error("acquireLease not provided");
    }),
    /** Renews the lease (and, once told with LOCKED, the participant locks) until stopped. */
    renewLease: fromCallback<DeployEvent, { namespace: string; deployId: string }>(() => {}),
    observe: fromPromise<World, { namespace: string }>(async () => {
      throw new Error("observe not provided");
    }),
    plan: fromPromise<Plan, { spec: NamespaceSpec; world: World }>(async () => {
      throw new Error("plan not provided");
    }),
    lockParticipants: fromPromise<string[], { namespace: string; deployId: string; plan: Plan; world: World }>(async () => []),
    removeOrphans: fromPromise<string[], { namespace: string; deployId: string; world: World }>(async () => []),
    startCandidates: fromCallback<DeployEvent, { namespace: string; deployId: string; spec: NamespaceSpec; plan: Plan }>(({ sendBack }) => {
      sendBack({ type: "ALL_STARTED" });
    }),
    probeCandidates: fromPromise<void, { namespace: string; deployId: string; spec: NamespaceSpec; started: StartedCandidate[] }>(async () => {}),
    commit: fromPromise<number, { context: DeployContext }>(async () => {
      throw new Error("commit not provided");
    }),
    drainOld: fromPromise<string[], { namespace: string; deployId: string; plan: Plan }>(async () => []),
    removeCandidates: fromPromise<string[], { namespace: string; deployId: string; started: StartedCandidate[] }>(async () => []),
    release: fromPromise<void, { namespace: string; deployId: string; locked: string[] }>(async () => {}),
  },
  actions: {
    fail: assign((_, params: { phase: string; error: unknown }) => ({ failure: failure(params.phase, params.error) })),
    /** Durable Status: one record per phase transition. */
    recordPhase: (_, _params: { phase: string; state: "started" | "ok" | "failed"; reason?: string }) => {},
  },
  guards: {
    isPreview: ({ context }) => context.preview,
    planHashDiffers: ({ context, event }) =>
      context.planHash !== undefined && (event as unknown as { output: Plan }).output.hash !== context.planHash,
    // A first deploy always commits, even with no instance to start (its spec and routes are Intent too).
    nothingToDo: ({ context }) =>
      context.world!.planInput.baseCommitSeq !== null &&
      context.plan!.operations.every((op) => op.type === "keep") &&
      context.rollbackOf === undefined &&
      context.world!.orphans.length === 0,
    committed: ({ context }) => context.commitSeq !== undefined,
    failed: ({ context }) => context.failure !== undefined,
  },
}).createMachine({
  id: "deploy",
  context: ({ input }) => ({ ...input, world: undefined, plan: undefined, locked: [], started: [], commitSeq: undefined, failure: undefined, warnings: [] }),
  initial: "routing",
  states: {
    routing: {
      always: [{ guard: "isPreview", target: "previewing" }, { target: "leasing" }],
    },
    previewing: {
      initial: "observing",
      states: {
        observing: {
          invoke: {
            src: "observe",
            input: ({ context }) => ({ namespace: context.namespace }),
            onDone: { target: "planning", actions: assign({ world: ({ event }) => event.output }) },
            onError: { target: "#deploy.previewFailed", actions: assign({ failure: ({ event }) => failure("observe", event.error) }) },
          },
        },
        planning: {
          invoke: {
            src: "plan",
            input: ({ context }) => ({ spec: context.spec, world: context.world! }),
            onDone: { target: "#deploy.previewed", actions: assign({ plan: ({ event }) => event.output }) },
            onError: { target: "#deploy.previewFailed", actions: assign({ failure: ({ event }) => failure("plan", event.error) }) },
          },
        },
      },
    },
    leasing: {
      entry: { type: "recordPhase", params: { phase: "lease", state: "started" } },
      invoke: {
        src: "acquireLease",
        input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId }),
        onDone: "leased",
        // Nothing to undo: the lease was never ours.
        onError: { target: "failed", actions: assign({ failure: ({ event }) => failure("lease", event.error) }) },
      },
    },
    leased: {
      invoke: { id: "renewer", src: "renewLease", input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId }) },
      on: {
        LEASE_LOST: [
          { guard: "committed", actions: assign({ warnings: ({ context, event }) => [...context.warnings, `lease lost after commit: ${event.reason}`] }) },
          { target: ".compensating", actions: assign({ failure: ({ event }) => ({ phase: "lease", reason: `lost the lease: ${event.reason}`, code: "lease-lost" }) }) },
        ],
      },
      initial: "observing",
      states: {
        observing: {
          entry: { type: "recordPhase", params: { phase: "observe", state: "started" } },
          invoke: {
            src: "observe",
            input: ({ context }) => ({ namespace: context.namespace }),
            onDone: { target: "planning", actions: assign({ world: ({ event }) => event.output }) },
            onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "observe", error: event.error }) } },
          },
        },
        planning: {
          invoke: {
            src: "plan",
            input: ({ context }) => ({ spec: context.spec, world: context.world! }),
            onDone: [
              {
                guard: "planHashDiffers",
                target: "compensating",
                actions: assign({
                  plan: ({ event }) => event.output,
                  failure: ({ context, event }) => ({
                    phase: "plan",
                    reason: `the world changed since the preview: plan ${context.planHash} was previewed, planning now gives ${event.output.hash}`,
                    code: "plan-changed",
                  }),
                }),
              },
              { target: "checking", actions: assign({ plan: ({ event }) => event.output }) },
            ],
            onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "plan", error: event.error }) } },
          },
        },
        checking: {
          always: [{ guard: "nothingToDo", target: "#deploy.releasing" }, { target: "locking" }],
        },
        locking: {
          invoke: {
            src: "lockParticipants",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, plan: context.plan!, world: context.world! }),
            onDone: {
              target: "cleaningOrphans",
              actions: [
                assign({ locked: ({ event }) => event.output }),
                sendTo("renewer", ({ event }) => ({ type: "LOCKED" as const, machines: event.output })),
              ],
            },
            onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "lock", error: event.error }) } },
          },
        },
        cleaningOrphans: {
          invoke: {
            src: "removeOrphans",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, world: context.world! }),
            onDone: { target: "starting", actions: assign({ warnings: ({ context, event }) => [...context.warnings, ...event.output] }) },
            onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "orphans", error: event.error }) } },
          },
        },
        starting: {
          entry: { type: "recordPhase", params: { phase: "start", state: "started" } },
          invoke: {
            src: "startCandidates",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, spec: context.spec, plan: context.plan! }),
          },
          on: {
            STARTED: { actions: assign({ started: ({ context, event }) => [...context.started, event.candidate] }) },
            ALL_STARTED: "probing",
            START_FAILED: { target: "compensating", actions: assign({ failure: ({ event }) => failure("start", event.error) }) },
          },
        },
        probing: {
          invoke: {
            src: "probeCandidates",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, spec: context.spec, started: context.started }),
            onDone: "committing",
            onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "readiness", error: event.error }) } },
          },
        },
        committing: {
          entry: { type: "recordPhase", params: { phase: "commit", state: "started" } },
          invoke: {
            src: "commit",
            input: ({ context }) => ({ context }),
            onDone: { target: "draining", actions: assign({ commitSeq: ({ event }) => event.output }) },
            onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "commit", error: event.error }) } },
          },
        },
        // After the commit: the new version is the truth; removing the old is best effort, reported.
        draining: {
          entry: { type: "recordPhase", params: { phase: "commit", state: "ok" } },
          invoke: {
            src: "drainOld",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, plan: context.plan! }),
            onDone: { target: "#deploy.releasing", actions: assign({ warnings: ({ context, event }) => [...context.warnings, ...event.output] }) },
            onError: {
              target: "#deploy.releasing",
              actions: assign({ warnings: ({ context, event }) => [...context.warnings, `draining old instances failed: ${failure("drain", event.error).reason}`] }),
            },
          },
        },
        compensating: {
          invoke: {
            src: "removeCandidates",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, started: context.started }),
            onDone: { target: "#deploy.releasing", actions: assign({ warnings: ({ context, event }) => [...context.warnings, ...event.output] }) },
            onError: {
              target: "#deploy.releasing",
              actions: assign({ warnings: ({ context, event }) => [...context.warnings, `could not remove every candidate: ${failure("compensate", event.error).reason}`] }),
            },
          },
        },
      },
    },
    releasing: {
      invoke: {
        src: "release",
        input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, locked: context.locked }),
        onDone: [{ guard: "failed", target: "failed" }, { target: "done" }],
        onError: [
          { guard: "failed", target: "failed" },
          { target: "done", actions: assign({ warnings: ({ context, event }) => [...context.warnings, `releasing the lease failed: ${failure("release", event.error).reason}`] }) },
        ],
      },
    },
    previewed: { type: "final" },
    previewFailed: { type: "final" },
    done: {
      type: "final",
      entry: { type: "recordPhase", params: { phase: "done", state: "ok" } },
    },
    failed: {
      type: "final",
      entry: { type: "recordPhase", params: ({ context }) => ({ phase: context.failure?.phase ?? "unknown", state: "failed" as const, reason: context.failure?.reason ?? "unknown" }) },
    },
  },
  output: ({ context }): DeployOutcome => {
    const base = { namespace: context.namespace };
    if (context.failure) {
      return { ...base, type: "failed", deployId: context.deployId, phase: context.failure.phase, reason: context.failure.reason, code: context.failure.code, lines: context.warnings };
    }
    if (context.preview) return { ...base, type: "previewed", plan: context.plan!, lines: [] };
    if (context.commitSeq === undefined) return { ...base, type: "unchanged", deployId: context.deployId, plan: context.plan!, lines: [] };
    return { ...base, type: "deployed", deployId: context.deployId, commitSeq: context.commitSeq, plan: context.plan!, lines: [], warnings: context.warnings };
  },
});
