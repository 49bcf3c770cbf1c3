import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ObjectStore } from "@nats-io/obj";
import { fromCallback, fromPromise } from "xstate";
import { commitDeploy } from "../actors/deploy/commit.ts";
import { recordDeployPhase } from "../actors/deploy/deploy-status.ts";
import type { DeployStore } from "../actors/deploy/deploy-store.ts";
import { deriveNamespace } from "../actors/deploy/derive.ts";
import {
  lockParticipants,
  machinesTouched,
  probeCandidates,
  releaseLocks,
  removeCandidates,
  removeLeftovers,
  startCandidates,
  waitForGateways,
} from "../actors/deploy/execute.ts";
import { acquireLease, releaseLease, renewLease } from "../actors/deploy/lease.ts";
import { observeWorld } from "../actors/deploy/observe-world.ts";
import { acquireClaims, dropClaims } from "../actors/deploy/route-claims.ts";
import type { Participants } from "../actors/deploy/participants.ts";
import type { Faults } from "../actors/faults.ts";
import { deployLeaseMachine } from "../machines/deploy-lease.ts";
import { deployMachine, type DeployEvent, type DeployTiming } from "../machines/deploy.ts";
import { rollForwardMachine } from "../machines/roll-forward.ts";
import type { DeployOperation, World } from "../model/deploy.ts";
import { bindViolationHint, bindViolations, describeBindViolation, type HostPathRules } from "../model/bind-policy.ts";
import { BindRefusedError, RouteConflictError } from "../model/errors.ts";
import { planDeploy, planRemoval } from "../model/plan-deploy.ts";
import type { Plan } from "../model/plan.ts";
import { describeClaimConflicts } from "../model/route-claims.ts";
import { findRouteConflicts } from "../model/routing.ts";
import { LEASE_TTL_MS } from "../model/store-layout.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { Logger } from "./logger.ts";

export interface DeployEffectsDeps {
  nc: NatsConnection;
  store: DeployStore;
  images: ObjectStore;
  participants: Participants;
  machineId: string;
  /** This run of ployzd: leases it takes say so, and leases of an earlier run are broken. */
  incarnation: string;
  log: Logger;
  faults: Faults;
  /** What this machine refuses to bind always, and the cluster's default directories (checked at planning). */
  hostPaths: HostPathRules;
  /** Deploy counts and durations (runtime/metrics.ts); absent in a coordinator outside ployzd. */
  metrics?: Pick<NodeMetrics, "deployStarted" | "deployEnded">;
}

/** A new deploy id: time-ordered and unique enough to label containers with. */
export function newDeployId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/** The timing coordinators run on in ployzd: the lease renewed every 5 s against its 15 s max age. */
export function deployTiming(drainMs: number): DeployTiming {
  return { now: Date.now, leaseTtlMs: LEASE_TTL_MS, renewEveryMs: 5_000, retryEveryMs: 1_000, drainMs };
}

/** How long a coordinator waits for every gateway and DNS to route past what it is about to remove. */
const ROUTING_WAIT_MS = 5_000;

/** The roll-forward statechart with its effects: derive (and write) from the head, wait for routing, remove leftovers. */
export function provideRollForward(deps: DeployEffectsDeps) {
  return rollForwardMachine.provide({
    actors: {
      derive: fromPromise(async ({ input }) => await deriveNamespace(deps, input.namespace, input.deployId)),
      waitForRouting: fromPromise(async ({ input, signal }) =>
        input.routingSeq > 0 ? await waitForGateways(deps.participants, input.gateways, input.routingSeq, ROUTING_WAIT_MS, signal) : [],
      ),
      removeLeftovers: fromPromise(async ({ input }) => {
        const notes = await removeLeftovers(deps.participants, input);
        if (notes.length > 0) deps.faults.hit("drain.after-first-removal");
        return notes;
      }),
    },
  });
}

/**
 * The deploy statechart with its real effects: the lease (KV + fence), the roll-forward, the
 * store, the participants. Everything specific to one deploy is in its input; the same provided
 * machine is spawned by the API for every request and by the reconcilers for their repairs.
 */
export function provideDeployMachine(deps: DeployEffectsDeps) {
  const { store, participants } = deps;
  return deployMachine.provide({
    actors: {
      lease: deployLeaseMachine.provide({
        actors: {
          acquire: fromPromise(async ({ input }) => await acquireLease(store.leases, store.js, store.jsm, input.namespace, input.value)),
          renew: fromPromise(async ({ input }) => await renewLease(store.leases, input.namespace, input.value, input.revision)),
          release: fromPromise(async ({ input }) => await releaseLease(store.leases, input.namespace, input.value, input.revision)),
        },
      }),
      rollForward: provideRollForward(deps),
      observe: fromPromise(async ({ input }) => await observeWorld(store, deps.images, participants, { machineId: deps.machineId, deployId: input.deployId }, input.namespace, input.operation)),
      plan: fromPromise(async ({ input }) => planFor(input.namespace, input.operation, input.world, deps.hostPaths)),
      lockParticipants: fromPromise(async ({ input }) => await lockParticipants(participants, input.namespace, input.deployId, machinesTouched(input.plan))),
      startCandidates: fromCallback<DeployEvent, { namespace: string; deployId: string; token: number; operation: DeployOperation; plan: Plan; images: Record<string, string> }>(
        ({ input, sendBack }) => {
          if (input.operation.kind !== "deploy") {
            sendBack({ type: "ALL_STARTED" });
            return;
          }
          return startCandidates(participants, { ...input, spec: input.operation.spec }, (event) => {
            sendBack(event);
            if (event.type === "ALL_STARTED") deps.faults.hit("deploy.after-start");
          });
        },
      ),
      keepLocks: fromCallback<DeployEvent, { namespace: string; deployId: string; locked: string[]; everyMs: number }>(({ input, sendBack }) => {
        const timer = setInterval(() => {
          for (const machine of input.locked) {
            participants.lock(machine, input.namespace, input.deployId).catch((error: unknown) => {
              sendBack({ type: "LOCK_REFRESH_FAILED", machine, reason: error instanceof Error ? error.message : String(error) });
            });
          }
        }, input.everyMs);
        return () => clearInterval(timer);
      }),
      probeCandidates: fromPromise(async ({ input }) => {
        if (input.operation.kind === "deploy") await probeCandidates(participants, { ...input, spec: input.operation.spec });
      }),
      claimRoutes: fromPromise(async ({ input }) => {
        if (input.operation.kind === "deploy") await acquireClaims(store.claims, input.namespace, input.operation.spec, input.token);
      }),
      commit: fromPromise(async ({ input }) => {
        deps.faults.hit("deploy.before-commit");
        const committed = await commitDeploy(store, input.context);
        deps.faults.hit("deploy.after-commit");
        return committed;
      }),
      removeCandidates: fromPromise(async ({ input }) => {
        const warnings: string[] = [];
        // Claims it made and did not commit are released; the reconciler releases them if this fails.
        if (input.token !== undefined) {
          await dropClaims(store.claims, input.namespace, input.token).catch((error: unknown) => {
            warnings.push(`could not release the route claims of deploy ${input.deployId}: ${error instanceof Error ? error.message : String(error)}`);
          });
        }
        return [...warnings, ...(await removeCandidates(participants, input))];
      }),
      releaseLocks: fromPromise(async ({ input }) => await releaseLocks(participants, input.namespace, input.deployId, input.locked)),
    },
    actions: {
      recordPhase: ({ context }, params) => {
        if (context.preview) return;
        if (params.phase === "lease" && params.state === "started") deps.metrics?.deployStarted(context.deployId, Date.now());
        if (params.phase === "done" || params.state === "failed") {
          deps.metrics?.deployEnded(context.deployId, Date.now(), params.state === "failed" ? { ok: false, phase: params.phase, code: context.failure?.code } : { ok: true });
        }
        const log = deps.log.child({ deploy: context.deployId, namespace: context.namespace });
        const progress = { type: "phase" as const, deployId: context.deployId, phase: params.phase, state: params.state, ...(params.reason ? { reason: params.reason } : {}) };
        if (context.progress) deps.nc.publish(context.progress, JSON.stringify(progress));
        log.info({ phase: params.phase, state: params.state, reason: params.reason }, "deploy phase");
        // A deploy that never got the lease never touched the namespace: it is the caller's
        // error, not part of the namespace's history (the log still has it).
        if (params.phase === "lease") return;
        void recordDeployPhase(store.js, {
          type: "deploy",
          namespace: context.namespace,
          deployId: context.deployId,
          machine: deps.machineId,
          phase: params.phase,
          state: params.state,
          ...(params.reason ? { reason: params.reason } : {}),
          at: new Date().toISOString(),
        }).catch((error: unknown) => log.error({ err: error }, "could not record deploy phase"));
      },
    },
  });
}

/** The plan of an operation: a deploy's (after the bind policy and the cluster-wide route check) or a removal's. */
function planFor(namespace: string, operation: DeployOperation, world: World, hostPaths: HostPathRules): Plan {
  if (operation.kind === "remove") return planRemoval(namespace, world.planInput);
  const refusedBinds = bindViolations(operation.spec, world.bindAllowed, hostPaths);
  if (refusedBinds.length > 0) {
    throw new BindRefusedError(refusedBinds.map((v) => describeBindViolation(namespace, v)).join("; "), { hint: bindViolationHint(namespace, refusedBinds) });
  }
  if (world.claimConflicts.length > 0) {
    throw new RouteConflictError(describeClaimConflicts(namespace, world.claimConflicts), {
      hint: "a hostname and path prefix can have one owner, and a wildcard and the hostnames it covers one namespace: change one of them, or remove the other first",
    });
  }
  const conflicts = findRouteConflicts(operation.spec, world.routes);
  if (conflicts.length > 0) {
    throw new RouteConflictError(
      conflicts.map((c) => `route ${c.hostname}${c.pathPrefix} of ${namespace}/${c.service} is already served by ${c.owner.namespace}/${c.owner.service}`).join("; "),
      { hint: "a hostname and path prefix can have one owner: change one of them, or remove the other first" },
    );
  }
  return planDeploy({ ...world.planInput, spec: operation.spec });
}
