import { DeliverPolicy } from "@nats-io/jetstream";
import { fromCallback, fromPromise } from "xstate";
import { readAuthority } from "../actors/deploy/commits.ts";
import { deriveNamespace } from "../actors/deploy/derive.ts";
import { breakOrphanedLease } from "../actors/deploy/lease.ts";
import { recordReconcile } from "../actors/deploy/deploy-status.ts";
import { fromStore } from "../actors/store/store-errors.ts";
import type { DeployTiming } from "../machines/deploy.ts";
import { namespaceReconcilerMachine } from "../machines/namespace-reconciler.ts";
import { reconcilerMachine, type ReconcilerEvent } from "../machines/reconciler.ts";
import { containerEventSchema } from "../model/participant.ts";
import { decideRepair } from "../model/reconcile.ts";
import { subjects } from "../model/subjects.ts";
import { DEFAULT_SUPERVISION_POLICY } from "../model/supervision.ts";
import type { NodeMetrics } from "./metrics.ts";
import { newDeployId, provideDeployMachine, type DeployEffectsDeps } from "./deploy.ts";

export interface ReconcilerDeps extends DeployEffectsDeps {
  timing: DeployTiming;
  /** How often each namespace is looked at without being poked. */
  intervalMs: number;
  /** Counts what the reconcilers do (runtime/metrics.ts). */
  reconcilerMetrics?: Pick<NodeMetrics, "reconcilerActions">;
}

/** The reconciler's input in ployzd. */
export function reconcilerInput(deps: ReconcilerDeps) {
  return {
    machineId: deps.machineId,
    incarnation: deps.incarnation,
    intervalMs: deps.intervalMs,
    debounceMs: 100,
    repairBackoff: { ...DEFAULT_SUPERVISION_POLICY, initialBackoffMs: 2_000, maxBackoffMs: 5 * 60_000 },
    timing: deps.timing,
  };
}

/**
 * The reconciler statechart with its effects: `watch` names this machine's namespaces (every one
 * at start, then each one a record lands on `commits.<ns>` for, or a container event is about),
 * `check` rolls a namespace forward and decides a repair, `repair` is a deploy coordinator.
 */
export function provideReconciler(deps: ReconcilerDeps) {
  const { store } = deps;
  const log = deps.log.child({ actor: "reconciler" });
  return reconcilerMachine.provide({
    actors: {
      watch: fromCallback<ReconcilerEvent, { machineId: string }>(({ sendBack }) => {
        const abort = new AbortController();
        const authority = new Map<string, string>();
        /** Whose namespace it is (`namespaceAuthority`): its head's authority, or before any commit, its last fence's holder. */
        const ownerOf = async (namespace: string, fresh: boolean) => {
          if (!fresh && authority.has(namespace)) return authority.get(namespace);
          const owner = await readAuthority(store.jsm, namespace);
          if (owner) authority.set(namespace, owner);
          return owner;
        };
        const name = async (namespace: string, reason: string, fresh: boolean) => {
          if ((await ownerOf(namespace, fresh)) === deps.machineId) sendBack({ type: "NAMESPACE", namespace, reason });
        };
        const fail = (error: unknown) => {
          if (abort.signal.aborted) return;
          log.error({ err: error }, "reconciler watch failed");
          sendBack({ type: "WATCH_FAILED", error: error instanceof Error ? error.message : String(error) });
        };

        void (async () => {
          // Every namespace with a record, at start.
          const info = await fromStore("stream COMMITS", () => store.jsm.streams.info("COMMITS", { subjects_filter: "commits.>" }));
          for (const subject of Object.keys(info.state.subjects ?? {}).sort()) await name(subject.slice("commits.".length), "start", true);
          // Then each one something lands on.
          const consumer = await store.js.consumers.get("COMMITS", { deliver_policy: DeliverPolicy.New, filter_subjects: "commits.>", headers_only: true });
          const messages = await consumer.consume();
          abort.signal.addEventListener("abort", () => void messages.close(), { once: true });
          for await (const msg of messages) await name(msg.subject.slice("commits.".length), "commit", true);
          if (!abort.signal.aborted) throw new Error("the COMMITS consumer ended");
        })().catch(fail);

        const events = deps.nc.subscribe(subjects.containerEventsAll(), {
          callback: (error, msg) => {
            if (error) return fail(error);
            const event = containerEventSchema.safeParse(msg.json());
            if (!event.success) return log.warn({ subject: msg.subject }, "container event that does not parse, ignored");
            name(event.data.namespace, `${event.data.action} ${event.data.containerId.slice(0, 12)} on ${event.data.machine}`, false).catch(fail);
          },
        });
        return () => {
          abort.abort();
          events.unsubscribe();
        };
      }),
      namespaceReconciler: namespaceReconcilerMachine.provide({
        actors: {
          check: fromPromise(async ({ input }) => {
            const broken = await breakOrphanedLease(store.leases, input.namespace, deps.machineId, deps.incarnation);
            if (broken) log.warn({ namespace: input.namespace, deploy: broken }, "broke the lease of a deploy of an earlier ployzd on this machine");
            const derived = await deriveNamespace(deps, input.namespace, "reconcile-check");
            const repair = decideRepair(derived.head, derived, derived.leaseHolder);
            const deferred = derived.leaseHolder && (derived.leftovers.length > 0 || derived.dead.some((d) => d.replace)) ? `deploy ${derived.leaseHolder} holds the lease` : undefined;
            // A deferral is not an action: the deploy holding the lease settles the namespace itself.
            const actions = [
              ...(broken ? [`broke the lease of deploy ${broken}: it belonged to an earlier run of ployzd on ${deps.machineId}`] : []),
              ...derived.notes,
              ...(repair ? [`repair: ${repair.reason}`] : []),
            ];
            if (broken) deps.reconcilerMetrics?.reconcilerActions.inc({ kind: "lease-broken" });
            if (derived.notes.length) deps.reconcilerMetrics?.reconcilerActions.inc({ kind: "note" }, derived.notes.length);
            if (repair) deps.reconcilerMetrics?.reconcilerActions.inc({ kind: "repair" });
            if (actions.length > 0) {
              log.info({ namespace: input.namespace, actions }, "reconciled");
              await recordReconcile(store.js, { type: "reconcile", namespace: input.namespace, machine: deps.machineId, headSeq: derived.head?.seq ?? null, actions, at: new Date().toISOString() });
            }
            return { notes: derived.notes, repair: repair ? { ...repair, deployId: newDeployId() } : null, ...(deferred ? { deferred } : {}) };
          }),
          repair: provideDeployMachine(deps),
        },
        actions: {
          recordRepair: (_, params) => {
            const outcome = params.outcome;
            const text =
              outcome.type === "failed"
                ? `repair ${outcome.deployId} failed in phase ${outcome.phase}: ${outcome.reason}`
                : outcome.type === "deployed" || outcome.type === "removed"
                  ? `repair ${outcome.deployId} committed ${outcome.commitSeq}`
                  : `repair ${"deployId" in outcome ? outcome.deployId : ""} settled the namespace (no new commit)`;
            log.info({ namespace: params.namespace, reason: params.reason, outcome: outcome.type }, text);
            deps.reconcilerMetrics?.reconcilerActions.inc({ kind: outcome.type === "failed" ? "repair-failed" : outcome.type === "deployed" || outcome.type === "removed" ? "repair-committed" : "repair-settled" });
            void recordReconcile(store.js, { type: "reconcile", namespace: params.namespace, machine: deps.machineId, headSeq: null, actions: [text, ...("notes" in outcome ? outcome.notes : [])], at: new Date().toISOString() }).catch(
              (error: unknown) => log.error({ err: error }, "could not record a repair"),
            );
          },
        },
      }),
    },
  });
}
