import { assign, fromCallback, fromPromise, sendTo, setup } from "xstate";
import type { DeployOperation, DeployOutcome, StartedCandidate, World } from "../model/deploy.ts";
import type { Plan } from "../model/plan.ts";
import { deployLeaseMachine, type DeployLeaseParentEvent } from "./deploy-lease.ts";
import { failureOf, type Failure } from "./failure.ts";
import { rollForwardMachine, type RollForwardOutput } from "./roll-forward.ts";

/** Clocks and delays a coordinator runs on (tests pass a simulated clock and short delays). */
export interface DeployTiming {
  now: () => number;
  leaseTtlMs: number;
  renewEveryMs: number;
  retryEveryMs: number;
  /** How long a replaced instance keeps serving after routing moved on. */
  drainMs: number;
}

export interface DeployInput {
  deployId: string;
  namespace: string;
  /** Which machine coordinates (the lease holder), and which run of its ployzd. */
  machineId: string;
  incarnation: string;
  operation: DeployOperation;
  preview: boolean;
  /** The caller's inbox for progress reports, if it watches live. */
  progress?: string;
  timing: DeployTiming;
}

export interface DeployContext extends DeployInput {
  /** The fence token of this deploy's lease, once held. */
  token: number | undefined;
  world: World | undefined;
  plan: Plan | undefined;
  /** Machines whose participant lock this deploy holds. */
  locked: string[];
  started: StartedCandidate[];
  commitSeq: number | undefined;
  failure: Failure | undefined;
  warnings: string[];
  notes: string[];
  /** The daemon is stopping: after the commit, what is left goes to the reconciler. */
  stopping: boolean;
  /** It settled the namespace once (a second observation plans whatever it sees). */
  settled: boolean;
}

export type DeployEvent =
  | DeployLeaseParentEvent
  | { type: "STARTED"; candidate: StartedCandidate }
  | { type: "START_FAILED"; error: unknown }
  | { type: "ALL_STARTED" }
  /** A participant lock could not be refreshed: not a lost lease (the fence still guards), but a start or exec probe there may be refused. */
  | { type: "LOCK_REFRESH_FAILED"; machine: string; reason: string }
  /** ployzd is stopping: compensate before the commit, hand over to the reconciler after it. */
  | { type: "SHUTDOWN" };

/**
 * One operation on one namespace, from lease to drain. `leased` holds the namespace's lease (a
 * child statechart) and its fence token. Before the commit (`preparing`): settle what earlier
 * coordinators left (roll the head forward), observe, plan, lock, start, probe; any failure, a
 * lost lease or a stopping daemon removes every candidate this deploy started and ends in
 * `failed`, the previous commit untouched. `committing` is one append under the fence: the
 * only point of no return. After it nothing is undone: the roll-forward (a child statechart)
 * derives every record from the new head and drains what it replaced; whatever it cannot
 * finish is left to the namespace's reconciler, which runs the same roll-forward. Never
 * restarted: its failure is the operation's failure. Every effect is provided by runtime/.
 */
export const deployMachine = setup({
  types: {
    context: {} as DeployContext,
    input: {} as DeployInput,
    events: {} as DeployEvent,
    output: {} as DeployOutcome,
  },
  actors: {
    lease: deployLeaseMachine,
    rollForward: rollForwardMachine,
    observe: fromPromise<World, { namespace: string; deployId: string; operation: DeployOperation }>(async () => {
      throw new Error("observe not provided");
    }),
    plan: fromPromise<Plan, { namespace: string; operation: DeployOperation; world: World }>(async () => {
      throw new Error("plan not provided");
    }),
    lockParticipants: fromPromise<string[], { namespace: string; deployId: string; plan: Plan }>(async () => []),
    /** Starts every create of the plan in dependency order; stopping it stops sending starts. */
    startCandidates: fromCallback<DeployEvent, { namespace: string; deployId: string; token: number; operation: DeployOperation; plan: Plan; images: Record<string, string> }>(({ sendBack }) => {
      sendBack({ type: "ALL_STARTED" });
    }),
    /** Refreshes the participant locks (their max age is the lease's) while candidates are started and probed. */
    keepLocks: fromCallback<DeployEvent, { namespace: string; deployId: string; locked: string[]; everyMs: number }>(() => {}),
    probeCandidates: fromPromise<void, { namespace: string; deployId: string; operation: DeployOperation; started: StartedCandidate[] }>(async () => {}),
    /** Claims the spec's routes cluster-wide under the fence, before the commit (a conflict fails the deploy). */
    claimRoutes: fromPromise<void, { namespace: string; operation: DeployOperation; token: number }>(async () => {}),
    commit: fromPromise<{ seq: number; warnings: string[] }, { context: DeployContext }>(async () => {
      throw new Error("commit not provided");
    }),
    /** Removes what this deploy started: the candidates it heard of, and any container labelled with its id on the machines it touched. */
    removeCandidates: fromPromise<string[], { namespace: string; deployId: string; token: number | undefined; started: StartedCandidate[]; machines: string[] }>(async () => []),
    releaseLocks: fromPromise<string[], { namespace: string; deployId: string; locked: string[] }>(async () => []),
  },
  actions: {
    /** Durable Status (and the caller's progress inbox): one record per phase transition. */
    recordPhase: (_, _params: { phase: string; state: "started" | "ok" | "failed"; reason?: string }) => {},
    warn: assign({ warnings: ({ context }, params: { text: string }) => [...context.warnings, params.text] }),
    /** Keeps the first failure: what went wrong first is what the caller hears. */
    fail: assign({ failure: ({ context }, params: { phase: string; error: unknown }) => context.failure ?? failureOf(params.phase, params.error) }),
  },
  guards: {
    isPreview: ({ context }) => context.preview,
    planHashDiffers: ({ context }, params: { plan: Plan }) =>
      context.operation.kind === "deploy" && context.operation.planHash !== undefined && params.plan.hash !== context.operation.planHash,
    // A first deploy always commits, even with no instance to start (its spec and routes are Intent too);
    // removing what was never committed, or is removed already, commits nothing.
    nothingToDo: ({ context }) => {
      const head = context.world!.head;
      if (!context.plan!.operations.every((op) => op.type === "keep")) return false;
      if (context.operation.kind === "remove") return head === null || head.type === "removal";
      return head !== null && head.type === "commit" && context.operation.rollbackOf === undefined;
    },
    failed: ({ context }) => context.failure !== undefined,
    stopping: ({ context }) => context.stopping,
    // Settled once already: plan on what is there (the commit's own roll-forward finishes the rest).
    needsSettling: ({ context }, params: { world: World }) => params.world.unsettled.length > 0 && !context.settled,
    fenced: (_, params: { error: unknown }) => (params.error as { code?: string } | undefined)?.code === "fenced",
    rollForwardFailed: (_, params: { output: RollForwardOutput }) => params.output.failure !== undefined,
  },
}).createMachine({
  id: "deploy",
  context: ({ input }) => ({
    ...input,
    token: undefined,
    world: undefined,
    plan: undefined,
    locked: [],
    started: [],
    commitSeq: undefined,
    failure: undefined,
    warnings: [],
    notes: [],
    stopping: false,
    settled: false,
  }),
  initial: "routing",
  states: {
    routing: {
      always: [{ guard: "isPreview", target: "previewing" }, { target: "leased" }],
    },
    previewing: {
      initial: "observing",
      states: {
        observing: {
          invoke: {
            src: "observe",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, operation: context.operation }),
            onDone: { target: "planning", actions: assign({ world: ({ event }) => event.output }) },
            onError: { target: "#deploy.previewFailed", actions: { type: "fail", params: ({ event }) => ({ phase: "observe", error: event.error }) } },
          },
        },
        planning: {
          invoke: {
            src: "plan",
            input: ({ context }) => ({ namespace: context.namespace, operation: context.operation, world: context.world! }),
            onDone: { target: "#deploy.previewed", actions: assign({ plan: ({ event }) => event.output }) },
            onError: { target: "#deploy.previewFailed", actions: { type: "fail", params: ({ event }) => ({ phase: "plan", error: event.error }) } },
          },
        },
      },
    },
    leased: {
      invoke: {
        id: "lease",
        src: "lease",
        input: ({ context }) => ({
          namespace: context.namespace,
          value: { holder: context.machineId, deployId: context.deployId, since: new Date(context.timing.now()).toISOString(), incarnation: context.incarnation },
          now: context.timing.now,
          ttlMs: context.timing.leaseTtlMs,
          renewEveryMs: context.timing.renewEveryMs,
          retryEveryMs: context.timing.retryEveryMs,
        }),
        onDone: [{ guard: "failed", target: "failed" }, { target: "done" }],
      },
      // After the commit the fence, not the lease, guards every write: losing the lease is only worth a warning.
      on: { LEASE_LOST: { actions: { type: "warn", params: ({ event }) => ({ text: `lease lost after the commit: ${event.reason}` }) } } },
      initial: "acquiring",
      states: {
        acquiring: {
          entry: { type: "recordPhase", params: { phase: "lease", state: "started" } },
          on: {
            LEASE_ACQUIRED: { target: "preparing", actions: assign({ token: ({ event }) => event.token, warnings: ({ context, event }) => [...context.warnings, ...event.warnings] }) },
            LEASE_REFUSED: { target: "#deploy.failed", actions: assign({ failure: ({ event }) => failureOf("lease", event.error) }) },
            SHUTDOWN: { actions: assign({ stopping: true }) },
          },
        },
        preparing: {
          on: {
            LEASE_LOST: {
              target: "compensating",
              actions: assign({ failure: ({ context, event }) => context.failure ?? { phase: "lease", code: "lease-lost", reason: `lost the lease: ${event.reason}` } }),
            },
            SHUTDOWN: {
              target: "compensating",
              actions: assign({ failure: ({ context }) => context.failure ?? { phase: "shutdown", code: "daemon-stopping", reason: `ployzd on ${context.machineId} is stopping` } }),
            },
          },
          initial: "checkingStop",
          states: {
            // A SHUTDOWN that came while the lease was being taken.
            checkingStop: {
              always: [
                {
                  guard: "stopping",
                  target: "#deploy.leased.compensating",
                  actions: assign({ failure: ({ context }) => ({ phase: "shutdown", code: "daemon-stopping", reason: `ployzd on ${context.machineId} is stopping` }) }),
                },
                { target: "observing" },
              ],
            },
            // Whatever an earlier coordinator left half-done is finished first (same roll-forward as after a commit), then observed again.
            settling: {
              entry: assign({ settled: true }),
              invoke: {
                src: "rollForward",
                input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, token: context.token, drainMs: context.timing.drainMs }),
                onDone: [
                  {
                    guard: { type: "rollForwardFailed", params: ({ event }) => ({ output: event.output }) },
                    target: "#deploy.leased.compensating",
                    actions: assign({ failure: ({ event }) => ({ ...event.output.failure!, phase: "settle" }) }),
                  },
                  { target: "observing", actions: assign({ notes: ({ context, event }) => [...context.notes, ...event.output.notes] }) },
                ],
              },
            },
            observing: {
              entry: { type: "recordPhase", params: { phase: "observe", state: "started" } },
              invoke: {
                src: "observe",
                input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, operation: context.operation }),
                onDone: [
                  { guard: { type: "needsSettling", params: ({ event }) => ({ world: event.output }) }, target: "settling", actions: assign({ world: ({ event }) => event.output }) },
                  { target: "planning", actions: assign({ world: ({ event }) => event.output }) },
                ],
                onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "observe", error: event.error }) } },
              },
            },
            planning: {
              invoke: {
                src: "plan",
                input: ({ context }) => ({ namespace: context.namespace, operation: context.operation, world: context.world! }),
                onDone: [
                  {
                    guard: { type: "planHashDiffers", params: ({ event }) => ({ plan: event.output }) },
                    target: "#deploy.leased.compensating",
                    actions: assign({
                      plan: ({ event }) => event.output,
                      failure: ({ context, event }) => ({
                        phase: "plan",
                        reason: `the world changed since the preview: plan ${context.operation.kind === "deploy" ? context.operation.planHash : ""} was previewed, planning now gives ${event.output.hash}`,
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
              always: [{ guard: "nothingToDo", target: "#deploy.leased.releasing" }, { target: "locking" }],
            },
            locking: {
              invoke: {
                src: "lockParticipants",
                input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, plan: context.plan! }),
                onDone: { target: "starting", actions: assign({ locked: ({ event }) => event.output }) },
                onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "lock", error: event.error }) } },
              },
            },
            starting: {
              entry: { type: "recordPhase", params: { phase: "start", state: "started" } },
              invoke: [
                {
                  src: "keepLocks",
                  input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, locked: context.locked, everyMs: context.timing.renewEveryMs }),
                },
                {
                src: "startCandidates",
                input: ({ context }) => ({
                  namespace: context.namespace,
                  deployId: context.deployId,
                  token: context.token!,
                  operation: context.operation,
                  plan: context.plan!,
                  images: context.world!.planInput.images,
                }),
                },
              ],
              on: {
                LOCK_REFRESH_FAILED: { actions: { type: "warn", params: ({ event }) => ({ text: `could not refresh the lock on ${event.machine}: ${event.reason}` }) } },
                STARTED: { actions: assign({ started: ({ context, event }) => [...context.started, event.candidate] }) },
                ALL_STARTED: "probing",
                START_FAILED: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "start", error: event.error }) } },
              },
            },
            // Exec probes run only while this deploy holds the participants' locks: they are kept here too.
            probing: {
              invoke: [
                {
                  src: "keepLocks",
                  input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, locked: context.locked, everyMs: context.timing.renewEveryMs }),
                },
                {
                  src: "probeCandidates",
                  input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, operation: context.operation, started: context.started }),
                  onDone: "claiming",
                  onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "readiness", error: event.error }) } },
                },
              ],
              on: {
                LOCK_REFRESH_FAILED: { actions: { type: "warn", params: ({ event }) => ({ text: `could not refresh the lock on ${event.machine}: ${event.reason}` }) } },
              },
            },
            // Route ownership, cluster-wide and atomic per zone: of two namespaces claiming one route at once, one wins.
            claiming: {
              invoke: {
                src: "claimRoutes",
                input: ({ context }) => ({ namespace: context.namespace, operation: context.operation, token: context.token! }),
                onDone: "#deploy.leased.committing",
                onError: { target: "#deploy.leased.compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "claim", error: event.error }) } },
              },
            },
          },
        },
        // One append under the fence. Losing the lease now changes nothing: the fence decides.
        committing: {
          entry: { type: "recordPhase", params: { phase: "commit", state: "started" } },
          on: { SHUTDOWN: { actions: assign({ stopping: true }) } },
          invoke: {
            src: "commit",
            input: ({ context }) => ({ context }),
            onDone: { target: "committed", actions: assign({ commitSeq: ({ event }) => event.output.seq, warnings: ({ context, event }) => [...context.warnings, ...event.output.warnings] }) },
            onError: [
              { guard: { type: "fenced", params: ({ event }) => ({ error: event.error }) }, target: "compensating", actions: { type: "fail", params: ({ event }) => ({ phase: "commit", error: event.error }) } },
              // The store did not say whether the commit landed: undo nothing, the reconciler reads the truth later.
              { target: "uncertain", actions: { type: "fail", params: ({ event }) => ({ phase: "commit", error: event.error }) } },
            ],
          },
        },
        committed: {
          entry: { type: "recordPhase", params: { phase: "commit", state: "ok" } },
          on: { SHUTDOWN: { target: ".handedOver", actions: assign({ stopping: true }) } },
          initial: "rollingForward",
          states: {
            rollingForward: {
              always: { guard: "stopping", target: "handedOver" },
              invoke: {
                src: "rollForward",
                input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, token: context.token, drainMs: context.timing.drainMs }),
                onDone: [
                  {
                    guard: { type: "rollForwardFailed", params: ({ event }) => ({ output: event.output }) },
                    target: "handedOver",
                    actions: [
                      { type: "warn", params: ({ event }) => ({ text: `the roll-forward stopped in phase ${event.output.failure!.phase}: ${event.output.failure!.reason}` }) },
                    ],
                  },
                  // Its writes are the commit's own consequences, not news: `notes` stay what settling found.
                  { target: "#deploy.leased.releasing" },
                ],
              },
            },
            // Explicitly the reconciler's from here: it runs the same roll-forward from the head.
            handedOver: {
              entry: [
                { type: "warn", params: ({ context }) => ({ text: `what is left of the roll-forward of commit ${context.commitSeq} is the reconciler's (ployzd stopping or a step failed)` }) },
                { type: "recordPhase", params: { phase: "handover", state: "ok", reason: "roll-forward left to the reconciler" } },
              ],
              always: "#deploy.leased.releasing",
            },
          },
        },
        // The commit's fate is unknown; removing candidates could remove what the head names.
        uncertain: {
          entry: {
            type: "warn",
            params: { text: "the commit's outcome is unknown: its candidates are left to the namespace's reconciler, which keeps them if the commit landed and removes them if not" },
          },
          always: "releasing",
        },
        compensating: {
          invoke: {
            src: "removeCandidates",
            input: ({ context }) => ({
              namespace: context.namespace,
              deployId: context.deployId,
              token: context.token,
              started: context.started,
              machines: [...new Set([...context.locked, ...(context.plan?.operations.filter((op) => op.type === "create").map((op) => op.machine) ?? [])])].sort(),
            }),
            onDone: { target: "releasing", actions: assign({ warnings: ({ context, event }) => [...context.warnings, ...event.output] }) },
            onError: {
              target: "releasing",
              actions: { type: "warn", params: ({ event }) => ({ text: `could not remove every candidate (the reconciler will): ${failureOf("compensate", event.error).reason}` }) },
            },
          },
        },
        releasing: {
          invoke: {
            src: "releaseLocks",
            input: ({ context }) => ({ namespace: context.namespace, deployId: context.deployId, locked: context.locked }),
            onDone: { target: "releasingLease", actions: assign({ warnings: ({ context, event }) => [...context.warnings, ...event.output] }) },
            onError: { target: "releasingLease", actions: { type: "warn", params: ({ event }) => ({ text: `releasing locks failed: ${failureOf("release", event.error).reason}` }) } },
          },
        },
        releasingLease: {
          entry: sendTo("lease", { type: "RELEASE" }),
          // The lease statechart ends (released) and `leased` is done; if it does not, the bucket's max age frees it.
          after: { 10_000: [{ guard: "failed", target: "#deploy.failed" }, { target: "#deploy.done" }] },
        },
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
      const head = context.world?.head;
      return {
        ...base,
        type: "failed",
        deployId: context.deployId,
        phase: context.failure.phase,
        reason: context.failure.reason,
        code: context.failure.code,
        ...(context.failure.hint ? { hint: context.failure.hint } : {}),
        lines: context.warnings,
        headSeq: head ? head.seq : null,
      };
    }
    if (context.preview) return { ...base, type: "previewed", plan: context.plan!, lines: [] };
    const rest = { deployId: context.deployId, plan: context.plan!, lines: [], notes: context.notes, warnings: context.warnings };
    if (context.commitSeq === undefined) return { ...base, type: "unchanged", ...rest };
    if (context.operation.kind === "remove") return { ...base, type: "removed", commitSeq: context.commitSeq, ...rest };
    return { ...base, type: "deployed", commitSeq: context.commitSeq, ...rest };
  },
});
