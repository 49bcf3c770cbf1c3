import {
  explainRequestSchema,
  namespaceRefSchema,
  namespaceRmRequestSchema,
  psRequestSchema,
  regionSetRequestSchema,
  rollbackRequestSchema,
  deployReplySchema,
  type DeployReply,
  type ExplainReply,
  type HistoryReply,
  type PsReply,
  type RegionLsReply,
  type RegionSetReply,
} from "../../model/api-deploy.ts";
import type { DeployTiming } from "../../machines/deploy.ts";
import { COMMITS_KEPT_PER_NAMESPACE } from "../../model/commit.ts";
import type { DeployOperation, DeployOutcome, DeployProgress } from "../../model/deploy.ts";
import { DEPLOY_TIMEOUT_MS, deployRequestSchema, forwardedOperationSchema, type ForwardedOperation } from "../../model/deploy.ts";
import { AuthorityUnreachableError, DeployFailedError, errorFromPayload, InvalidArgumentError, ManifestError, NoResponderError, NotFoundError, RequestTimeoutError } from "../../model/errors.ts";
import { formatPlan } from "../../model/format-operation.ts";
import { canonicalJson } from "../../model/revision.ts";
import { namespaceSpecSchema, type NamespaceSpec } from "../../model/manifest.ts";
import { DEFAULT_REGION_ROLE, type RegionRecord } from "../../model/region.ts";
import type { ClusterRoutes } from "../../model/routing-status.ts";
import { subjects } from "../../model/subjects.ts";
import { readAuthority, readHead, readHistory } from "../deploy/commits.ts";
import { readPlacement, recordPlacement } from "../deploy/deploy-status.ts";
import type { DeployStore } from "../deploy/deploy-store.ts";
import { readInstances } from "../deploy/derived-store.ts";
import { readRegions } from "../deploy/namespace-store.ts";
import type { Participants } from "../deploy/participants.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { RunOperation } from "./api.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { requestJson } from "../nats/request.ts";
import { readMachines } from "../store/machines.ts";

export interface DeployVerbDeps {
  nc: NatsConnection;
  store: DeployStore;
  participants: Participants;
  machineId: string;
  /** This run of ployzd (its leases say so). */
  incarnation: string;
  timing: DeployTiming;
  newDeployId: () => string;
  log: Logger;
}

/** Handlers of the deploy verbs; each returns the reply or throws a typed error. */
export function deployVerbs(deps: DeployVerbDeps, run: RunOperation): Record<string, (body: unknown) => Promise<unknown>> {
  /**
   * Runs one operation: here when this machine is the namespace's authority (or the namespace has
   * none yet, or its authority left the cluster), else on the authority (`forwardTo`).
   */
  const operate = async (namespace: string, operation: DeployOperation, options: OperateOptions = {}) => {
    const authority = await readAuthority(deps.store.jsm, namespace);
    if (authority !== undefined && authority !== deps.machineId && (await isActiveMember(deps, authority))) {
      return await forwardTo(deps, authority, {
        type: "forwarded-operation",
        namespace,
        from: deps.machineId,
        operation,
        preview: options.preview ?? false,
        ...(options.progress ? { progress: options.progress } : {}),
      });
    }
    return await operateHere(deps, run, namespace, operation, options);
  };

  return {
    deploy: async (body) => {
      const request = parseRequest(deployRequestSchema, body, "deploy");
      const spec = namespaceSpecSchema.safeParse(request.spec);
      if (!spec.success) {
        const issue = spec.error.issues[0]!;
        const path = issue.path.join(".");
        throw new ManifestError(`${path || "manifest"}: ${issue.message}`, { path });
      }
      let images: Record<string, string> | undefined;
      if (request.rollbackOf !== undefined) {
        // A rollback names a commit: it must be one of this namespace's, with exactly this spec.
        const target = (await readHistory(deps.store.js, deps.store.jsm, spec.data.namespace)).find((c) => c.seq === request.rollbackOf);
        if (!target || target.type !== "commit") throw new NotFoundError(`namespace ${spec.data.namespace} has no commit ${request.rollbackOf} to roll back to`);
        if (canonicalJson(target.spec) !== canonicalJson(spec.data)) {
          throw new InvalidArgumentError(`rollbackOf ${request.rollbackOf}: the spec sent is not the spec of that commit`, { hint: `use \`ployzctl rollback -n ${spec.data.namespace} --to ${request.rollbackOf}\`` });
        }
        images = target.images;
      }
      const operation: DeployOperation = {
        kind: "deploy",
        spec: spec.data,
        ...(request.planHash ? { planHash: request.planHash } : {}),
        ...(request.rollbackOf !== undefined ? { rollbackOf: request.rollbackOf } : {}),
        ...(images ? { images } : {}),
      };
      return await operate(spec.data.namespace, operation, { preview: request.preview, progress: request.progress });
    },

    ps: async (body) => {
      const request = parseRequest(psRequestSchema, body, "ps");
      const instances = await readInstances(deps.store.instances, request.namespace);
      const machines = [...new Set(instances.map((i) => i.machine))];
      const live = new Map<string, { ok: true; state: string; status: string; address?: string } | { ok: false; error: string }>();
      await Promise.all(
        machines.map(async (machine) => {
          try {
            const reply = await deps.participants.instances(machine, request.namespace, 3_000);
            for (const c of reply.containers) live.set(c.containerId, { ok: true, state: c.state, status: c.status, ...(c.address ? { address: c.address } : {}) });
            for (const i of instances) if (i.machine === machine && !live.has(i.containerId)) live.set(i.containerId, { ok: true, state: "missing", status: "no such container on its machine" });
          } catch (error) {
            for (const i of instances) if (i.machine === machine) live.set(i.containerId, { ok: false, error: (error as Error).message });
          }
        }),
      );
      const reply: PsReply = {
        type: "ps",
        at: new Date().toISOString(),
        instances: instances.map((i) => {
          const state = live.get(i.containerId)!;
          const { address, ...rest } = state as { address?: string };
          return { ...i, live: rest as PsReply["instances"][number]["live"], ...(address && state.ok && state.state === "running" ? { address } : {}) };
        }),
      };
      return reply;
    },

    history: async (body) => {
      const { namespace } = parseRequest(namespaceRefSchema, body, "history");
      const commits = await readHistory(deps.store.js, deps.store.jsm, namespace);
      if (commits.length === 0) throw new NotFoundError(`namespace ${namespace} has no commits`, { hint: "deploy it first (`ployzctl deploy -f …`)" });
      const head = commits.at(-1)!.seq;
      const reply: HistoryReply = {
        type: "history",
        namespace,
        kept: COMMITS_KEPT_PER_NAMESPACE,
        commits: commits.map((c) => ({
          seq: c.seq,
          kind: c.type,
          deployId: c.deployId,
          createdAt: c.createdAt,
          authority: c.authority,
          revisions: c.type === "commit" ? c.revisions : {},
          instances: c.type === "commit" ? c.placement.length : 0,
          ...(c.type === "commit" && c.rollbackOf ? { rollbackOf: c.rollbackOf } : {}),
          ...(c.type === "commit" && c.reason ? { reason: c.reason } : {}),
          head: c.seq === head,
        })),
      };
      return reply;
    },

    rollback: async (body) => {
      const request = parseRequest(rollbackRequestSchema, body, "rollback");
      const commits = await readHistory(deps.store.js, deps.store.jsm, request.namespace);
      if (commits.length === 0) throw new NotFoundError(`namespace ${request.namespace} has no commits to roll back to`);
      const head = commits.at(-1)!;
      const earlier = commits.filter((c) => c.type === "commit" && c.seq !== head.seq);
      const target = request.to === undefined ? earlier.at(-1) : commits.find((c) => c.seq === request.to);
      if (!target) {
        throw request.to === undefined
          ? new NotFoundError(`namespace ${request.namespace} has only one commit (${head.seq}): nothing to roll back to`)
          : new NotFoundError(`namespace ${request.namespace} has no commit ${request.to}`, { hint: `its commits: ${commits.map((c) => c.seq).join(", ")}` });
      }
      if (target.seq === head.seq) throw new InvalidArgumentError(`commit ${target.seq} is already the head of ${request.namespace}`);
      if (target.type !== "commit") throw new InvalidArgumentError(`${target.seq} is the removal of ${request.namespace}: there is nothing to roll back to there`);
      return await operate(
        request.namespace,
        { kind: "deploy", spec: target.spec, rollbackOf: target.seq, ...(target.images ? { images: target.images } : {}) },
        { progress: request.progress },
      );
    },

    "namespace.rm": async (body) => {
      const request = parseRequest(namespaceRmRequestSchema, body, "namespace.rm");
      const head = await readHead(deps.store.jsm, request.namespace);
      if (!head) throw new NotFoundError(`namespace ${request.namespace} has no commits`, { hint: "`ployzctl history -n NS` lists a namespace's commits" });
      if (head.type === "removal") throw new NotFoundError(`namespace ${request.namespace} is already removed (commit ${head.seq})`);
      return await operate(request.namespace, { kind: "remove" }, { progress: request.progress });
    },

    explain: async (body) => {
      const request = parseRequest(explainRequestSchema, body, "explain");
      const placement = await readPlacement(deps.store.jsm, request.namespace);
      if (!placement) throw new NotFoundError(`namespace ${request.namespace} has no placement record`, { hint: "deploy it first" });
      const service = placement.explanations.find((e) => e.service === request.service);
      if (!service) {
        throw new NotFoundError(`namespace ${request.namespace} has no service ${request.service} in its last deploy`, {
          hint: `its services: ${placement.explanations.map((e) => e.service).join(", ")}`,
        });
      }
      const candidates = await Promise.all(
        service.candidates.map(async (c) => {
          try {
            return { ...c, now: { ok: true as const, capacity: await deps.participants.capacity(c.machine) } };
          } catch (error) {
            return { ...c, now: { ok: false as const, error: (error as Error).message } };
          }
        }),
      );
      const instances = (await readInstances(deps.store.instances, request.namespace)).filter((i) => i.service === request.service);
      const reply: ExplainReply = {
        type: "explain",
        namespace: request.namespace,
        service: request.service,
        decidedAt: placement.at,
        deployId: placement.deployId,
        commitSeq: placement.commitSeq,
        revision: service.revision,
        change: service.change,
        candidates,
        instances,
      };
      return reply;
    },

    routes: async () => {
      const { machines } = await readMachines(deps.store.machines);
      const reply: ClusterRoutes = {
        type: "cluster-routes",
        at: new Date().toISOString(),
        machines: await Promise.all(
          machines
            .filter((m) => m.state === "active")
            .map(async (m) => {
              try {
                return { machine: m.id, ok: true as const, consumers: (await deps.participants.routes(m.id)).consumers };
              } catch (error) {
                return { machine: m.id, ok: false as const, error: (error as Error).message };
              }
            }),
        ),
      };
      return reply;
    },

    "region.ls": async () => {
      const [records, { machines }] = await Promise.all([readRegions(deps.store.regions), readMachines(deps.store.machines)]);
      const names = new Set([...records.map((r) => r.name), ...machines.map((m) => m.region)]);
      const reply: RegionLsReply = {
        type: "regions",
        regions: [...names].sort().map((name) => {
          const record = records.find((r) => r.name === name);
          return { name, role: record?.role ?? DEFAULT_REGION_ROLE, explicit: record !== undefined, machines: machines.filter((m) => m.region === name).map((m) => m.id) };
        }),
      };
      return reply;
    },

    "region.set": async (body) => {
      const request = parseRequest(regionSetRequestSchema, body, "region.set");
      const record: RegionRecord = { name: request.region, role: request.role, updatedAt: new Date().toISOString() };
      await deps.store.regions.put(request.region, JSON.stringify(record));
      const redeployed: RegionSetReply["redeployed"] = [];
      if (request.role === "draining" || request.role === "disabled") {
        // Move the existing instances off: redeploy every namespace that has one there.
        const { machines } = await readMachines(deps.store.machines);
        const inRegion = new Set(machines.filter((m) => m.region === request.region).map((m) => m.id));
        const affected = new Set((await readInstances(deps.store.instances)).filter((i) => inRegion.has(i.machine)).map((i) => i.namespace));
        for (const namespace of [...affected].sort()) {
          const head = await readHead(deps.store.jsm, namespace);
          if (head?.type !== "commit") continue;
          try {
            // The same images as now: moving instances off a region is not an upgrade.
            const outcome = await operate(namespace, { kind: "deploy", spec: head.spec, reason: `region ${request.region} is ${request.role}`, ...(head.images ? { images: head.images } : {}) });
            redeployed.push({ namespace, outcome: outcome.type, detail: outcome.type === "deployed" ? `commit ${outcome.commitSeq}` : "" });
          } catch (error) {
            redeployed.push({ namespace, outcome: "failed", detail: (error as Error).message });
          }
        }
      }
      const reply: RegionSetReply = { type: "region-set", region: request.region, role: request.role, redeployed };
      return reply;
    },
  };
}

interface OperateOptions {
  preview?: boolean;
  progress?: string | undefined;
}

/** Runs one operation as a coordinator of this machine; a failed one becomes its typed error. */
async function operateHere(deps: DeployVerbDeps, run: RunOperation, namespace: string, operation: DeployOperation, options: OperateOptions) {
  const deployId = deps.newDeployId();
  if (options.progress) deps.nc.publish(options.progress, JSON.stringify({ type: "accepted", deployId, machine: deps.machineId, namespace }));
  const outcome = await run({
    deployId,
    namespace,
    machineId: deps.machineId,
    incarnation: deps.incarnation,
    operation,
    preview: options.preview ?? false,
    ...(options.progress ? { progress: options.progress } : {}),
    timing: deps.timing,
  });
  return await replyOf(deps, outcome);
}

/**
 * The authority's side of forwarding (`subjects.forwardedOperation(<this machine>)`): runs the
 * operation here, whoever holds the authority by now (never forwarded again, so nothing loops;
 * the lease still admits one coordinator at a time).
 */
export function forwardedOperationHandler(deps: DeployVerbDeps, run: RunOperation): (body: unknown) => Promise<unknown> {
  return async (body) => {
    const forwarded = parseRequest(forwardedOperationSchema, body, "forwarded operation");
    deps.log.info({ namespace: forwarded.namespace, from: forwarded.from, kind: forwarded.operation.kind }, "running an operation forwarded to this machine, the namespace's authority");
    return await operateHere(deps, run, forwarded.namespace, forwarded.operation, { preview: forwarded.preview, progress: forwarded.progress });
  };
}

/** Whether `machineId` is an active member: an authority that left the cluster is taken over by whoever is asked. */
async function isActiveMember(deps: DeployVerbDeps, machineId: string): Promise<boolean> {
  const { machines } = await readMachines(deps.store.machines);
  return machines.some((m) => m.id === machineId && m.state === "active");
}

/**
 * Sends the operation to the namespace's authority and answers with its reply. An authority that
 * does not answer — asked first, then every 2 s while the operation runs there (its participant's
 * `observe.capacity`: the same ployzd) — fails the operation at once, naming it, instead of waiting
 * out the deploy timeout: a partitioned machine may keep its interest in the subject for minutes.
 */
async function forwardTo(deps: DeployVerbDeps, authority: string, forwarded: ForwardedOperation): Promise<DeployReply> {
  deps.log.info({ namespace: forwarded.namespace, authority, kind: forwarded.operation.kind }, "forwarding to the namespace's authority");
  const who = `machine ${authority} (the authority of namespace ${forwarded.namespace})`;
  const unreachable = (error: unknown) =>
    error instanceof NoResponderError || error instanceof RequestTimeoutError
      ? new AuthorityUnreachableError(`namespace ${forwarded.namespace}: its authority, machine ${authority}, did not answer (${error.message}); ${deps.machineId} forwarded the ${forwarded.operation.kind} there`, {
          hint: `is ployzd on ${authority} running and reachable? (\`ployzctl machine ls\`); if it stopped mid-way, its lease expires and the next deploy settles what it left`,
          cause: error,
        })
      : error;
  const alive = () => deps.participants.capacity(authority, FORWARD_LIVENESS_TIMEOUT_MS).then(() => undefined);
  await alive().catch((error: unknown) => {
    throw unreachable(error);
  });
  // The caller watches this machine too from now on: it relays the authority's reply.
  if (forwarded.progress) {
    const event: DeployProgress = { type: "forwarded", via: deps.machineId, to: authority, namespace: forwarded.namespace };
    deps.nc.publish(forwarded.progress, JSON.stringify(event));
  }
  let watchdog: NodeJS.Timeout | undefined;
  const lost = new Promise<never>((_, reject) => {
    let checking = false;
    watchdog = setInterval(() => {
      if (checking) return;
      checking = true;
      alive()
        .catch((error: unknown) => {
          if (error instanceof NoResponderError || error instanceof RequestTimeoutError) reject(unreachable(error));
        })
        .finally(() => (checking = false));
    }, FORWARD_LIVENESS_EVERY_MS);
  });
  const call = requestJson(deps.nc, subjects.forwardedOperation(authority), forwarded, deployReplySchema.passthrough(), { who, timeoutMs: DEPLOY_TIMEOUT_MS });
  call.catch(() => undefined); // if the watchdog wins, this one's later failure is not news
  try {
    return await Promise.race([call, lost]);
  } catch (error) {
    throw unreachable(error);
  } finally {
    clearInterval(watchdog);
  }
}

const FORWARD_LIVENESS_TIMEOUT_MS = 2_000;
const FORWARD_LIVENESS_EVERY_MS = 2_000;

/**
 * The reply to the caller: the outcome with the plan as lines, or a typed error when it failed.
 * A deployed outcome also records its placement explanation (Status) for `explain`.
 */
async function replyOf(deps: DeployVerbDeps, outcome: DeployOutcome) {
  if (outcome.type === "failed") {
    if (["lease-held", "plan-changed", "commit-conflict", "manifest-invalid", "route-conflict"].includes(outcome.code) || (outcome.code === "bind-refused" && outcome.phase === "plan")) {
      throw errorFromPayload({ name: "Error", code: outcome.code, message: outcome.reason, ...(outcome.hint ? { hint: outcome.hint } : {}) });
    }
    const uncertain = outcome.phase === "commit" && outcome.code !== "fenced";
    const keeps = uncertain
      ? "; whether the commit landed is unknown: the namespace's reconciler finishes it if it did and removes the candidates if not"
      : outcome.headSeq
        ? `; commit ${outcome.headSeq} is still what runs`
        : "";
    const leftovers = outcome.lines.length ? ` (${outcome.lines.join("; ")})` : "";
    throw new DeployFailedError(`deploy ${outcome.deployId} of namespace ${outcome.namespace} failed in phase ${outcome.phase}: ${outcome.reason}${keeps}${leftovers}`, outcome.hint ? { hint: outcome.hint } : {});
  }
  if (outcome.type === "deployed") {
    await recordPlacement(deps.store.js, {
      type: "placement",
      namespace: outcome.namespace,
      deployId: outcome.deployId,
      commitSeq: outcome.commitSeq,
      at: new Date().toISOString(),
      explanations: outcome.plan.explanations,
    }).catch((error: unknown) => deps.log.error({ err: error }, "could not record placement"));
  }
  return { ...outcome, lines: formatPlan(outcome.plan) };
}
