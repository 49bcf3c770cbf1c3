import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { createActor, fromCallback, fromPromise, toPromise, type InspectionEvent } from "xstate";
import { commitDeploy } from "../actors/deploy/commit.ts";
import { recordDeployPhase, recordPlacement } from "../actors/deploy/deploy-status.ts";
import type { DeployStore } from "../actors/deploy/deploy-store.ts";
import {
  drainOld,
  lockParticipants,
  machinesTouched,
  probeCandidates,
  removeCandidates,
  removeOrphans,
  startCandidates,
  waitForGateways,
} from "../actors/deploy/execute.ts";
import { acquireLease, releaseLease, renewLease, type LeaseValue } from "../actors/deploy/lease.ts";
import { observeWorld } from "../actors/deploy/observe-world.ts";
import { Participants } from "../actors/deploy/participants.ts";
import { deployMachine, type DeployEvent } from "../machines/deploy.ts";
import type { DeployOutcome, DeployProgress, World } from "../model/deploy.ts";
import { DeployFailedError, errorFromPayload, RouteConflictError } from "../model/errors.ts";
import { findRouteConflicts } from "../model/routing.ts";
import { formatPlan } from "../model/format-operation.ts";
import type { NamespaceSpec } from "../model/manifest.ts";
import { planDeploy } from "../model/plan-deploy.ts";
import type { Logger } from "./logger.ts";

export interface DeployRunnerDeps {
  nc: NatsConnection;
  store: DeployStore;
  machineId: string;
  log: Logger;
  /** How long an old instance keeps serving after it is replaced (routing drain). */
  drainMs: number;
  /** How often the lease and the participant locks are renewed (their max age is 15 s). */
  renewEveryMs?: number;
  inspect?: (event: InspectionEvent) => void;
}

export interface DeployOptions {
  spec: NamespaceSpec;
  preview: boolean;
  planHash?: string;
  rollbackOf?: number;
  /** Told when the deploy is accepted and at every phase, for callers that watch it live. */
  onProgress?: (event: DeployProgress) => void;
}

/** A new deploy id: time-ordered and unique enough to label containers with. */
export function newDeployId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/**
 * Runs deploys: each one is a fresh deploy statechart with its effects wired to NATS, the store
 * and the participants. Resolves with the outcome; a failed deploy rejects with a typed error
 * that names the phase, after its candidates were removed.
 */
export function createDeployRunner(deps: DeployRunnerDeps) {
  const participants = new Participants(deps.nc, deps.machineId);
  const renewEveryMs = deps.renewEveryMs ?? 5_000;

  return async function runDeploy(options: DeployOptions): Promise<DeployOutcome> {
    const deployId = newDeployId();
    const namespace = options.spec.namespace;
    const log = deps.log.child({ deploy: deployId, namespace });
    const lease: LeaseValue = { holder: deps.machineId, deployId, since: new Date().toISOString() };
    let leaseRevision = 0;
    let routingSeq = 0;
    let world: World | undefined;
    const progress = (event: DeployProgress) => {
      try {
        options.onProgress?.(event);
      } catch (error) {
        log.warn({ err: error }, "progress report failed");
      }
    };
    progress({ type: "accepted", deployId, machine: deps.machineId, namespace });

    const machine = deployMachine.provide({
      actors: {
        acquireLease: fromPromise(async () => {
          leaseRevision = await acquireLease(deps.store.leases, namespace, lease);
        }),
        renewLease: fromCallback<DeployEvent, { namespace: string; deployId: string }>(({ sendBack, receive }) => {
          let locked: string[] = [];
          receive((event) => {
            if (event.type === "LOCKED") locked = event.machines;
          });
          const timer = setInterval(() => {
            void (async () => {
              try {
                leaseRevision = await renewLease(deps.store.leases, namespace, lease, leaseRevision);
                await Promise.all(locked.map((m) => participants.lock(m, namespace, deployId)));
              } catch (error) {
                sendBack({ type: "LEASE_LOST", reason: error instanceof Error ? error.message : String(error) });
              }
            })();
          }, renewEveryMs);
          return () => clearInterval(timer);
        }),
        observe: fromPromise(async ({ input }) => (world = await observeWorld(deps.store, participants, input.namespace))),
        plan: fromPromise(async ({ input }) => {
          const conflicts = findRouteConflicts(input.spec, input.world.routes);
          if (conflicts.length > 0) {
            throw new RouteConflictError(
              conflicts
                .map((c) => `route ${c.hostname}${c.pathPrefix} of ${namespace}/${c.service} is already served by ${c.owner.namespace}/${c.owner.service}`)
                .join("; "),
              { hint: "a hostname and path prefix can have one owner: change one of them, or remove the other first" },
            );
          }
          return planDeploy({ ...input.world.planInput, spec: input.spec });
        }),
        lockParticipants: fromPromise(async ({ input }) => await lockParticipants(participants, input.namespace, input.deployId, machinesTouched(input.plan, input.world))),
        removeOrphans: fromPromise(async ({ input }) => await removeOrphans(participants, input.namespace, input.deployId, input.world)),
        startCandidates: fromCallback(({ input, sendBack }) => startCandidates(participants, input, sendBack)),
        probeCandidates: fromPromise(async ({ input }) => await probeCandidates(participants, input)),
        commit: fromPromise(async ({ input: { context } }) => {
          const committed = await commitDeploy(deps.store, {
            namespace: context.namespace,
            deployId: context.deployId,
            authority: deps.machineId,
            spec: context.spec,
            plan: context.plan!,
            started: context.started,
            current: context.world!.planInput.current,
            ...(context.rollbackOf ? { rollbackOf: context.rollbackOf } : {}),
          });
          routingSeq = committed.routingSeq;
          return committed.seq;
        }),
        drainOld: fromPromise(async ({ input }) => {
          const removes = input.plan.operations.some((op) => op.type === "remove");
          if (!removes) return [];
          // Zero downtime: the new backends are routed everywhere before the old ones stop,
          // and the old ones keep serving for the drain delay so in-flight requests finish.
          const gateways = (world?.planInput.machines ?? []).filter((m) => m.reachable).map((m) => m.machine.id);
          const late = routingSeq > 0 ? await waitForGateways(participants, gateways, routingSeq, 5_000) : [];
          await new Promise((resolve) => setTimeout(resolve, deps.drainMs));
          return [...late, ...(await drainOld(participants, input, 0))];
        }),
        removeCandidates: fromPromise(async ({ input }) => await removeCandidates(participants, input)),
        release: fromPromise(async ({ input }) => {
          await Promise.allSettled(input.locked.map((m) => participants.unlock(m, input.namespace, input.deployId)));
          if (leaseRevision > 0) await releaseLease(deps.store.leases, namespace, leaseRevision);
        }),
      },
      actions: {
        recordPhase: (_, params) => {
          if (options.preview) return;
          progress({ type: "phase", deployId, phase: params.phase, state: params.state, ...(params.reason ? { reason: params.reason } : {}) });
          log.info({ phase: params.phase, state: params.state, reason: params.reason }, "deploy phase");
          // A deploy that never got the lease never touched the namespace: it is the caller's
          // error, not part of the namespace's history (the log still has it).
          if (params.phase === "lease") return;
          void recordDeployPhase(deps.store.js, {
            type: "deploy",
            namespace,
            deployId,
            machine: deps.machineId,
            phase: params.phase,
            state: params.state,
            ...(params.reason ? { reason: params.reason } : {}),
            at: new Date().toISOString(),
          }).catch((error: unknown) => log.error({ err: error }, "could not record deploy phase"));
        },
      },
    });

    const actor = createActor(machine, {
      input: {
        deployId,
        namespace,
        spec: options.spec,
        preview: options.preview,
        ...(options.planHash ? { planHash: options.planHash } : {}),
        ...(options.rollbackOf ? { rollbackOf: options.rollbackOf } : {}),
      },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    });
    actor.start();
    const outcome = await toPromise(actor);

    if (outcome.type === "failed") {
      const head = actor.getSnapshot().context.world?.planInput.baseCommitSeq;
      const keeps = head ? `; commit ${head} is still what runs` : "";
      const leftovers = outcome.lines.length ? ` (${outcome.lines.join("; ")})` : "";
      if (["lease-held", "plan-changed", "commit-conflict", "manifest-invalid", "route-conflict"].includes(outcome.code)) {
        throw errorFromPayload({ name: "Error", code: outcome.code, message: outcome.reason });
      }
      throw new DeployFailedError(`deploy ${deployId} of namespace ${namespace} failed in phase ${outcome.phase}: ${outcome.reason}${keeps}${leftovers}`);
    }
    if (outcome.type === "deployed") {
      await recordPlacement(deps.store.js, {
        type: "placement",
        namespace,
        deployId,
        commitSeq: outcome.commitSeq,
        at: new Date().toISOString(),
        explanations: outcome.plan.explanations,
      }).catch((error: unknown) => log.error({ err: error }, "could not record placement"));
    }
    return { ...outcome, lines: formatPlan(outcome.plan) };
  };
}
