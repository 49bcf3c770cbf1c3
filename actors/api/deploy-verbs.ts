import {
  explainRequestSchema,
  logsApiRequestSchema,
  namespaceRefSchema,
  psRequestSchema,
  regionSetRequestSchema,
  rollbackRequestSchema,
  type ExplainReply,
  type HistoryReply,
  type LogsApiReply,
  type PsReply,
  type RegionLsReply,
  type RegionSetReply,
} from "../../model/api-deploy.ts";
import type { DeployOutcome, DeployProgress } from "../../model/deploy.ts";
import { deployRequestSchema } from "../../model/deploy.ts";
import { InvalidArgumentError, ManifestError, NotFoundError } from "../../model/errors.ts";
import { namespaceSpecSchema, type NamespaceSpec } from "../../model/manifest.ts";
import { logsReplySchema } from "../../model/participant.ts";
import { DEFAULT_REGION_ROLE, type RegionRecord } from "../../model/region.ts";
import type { ClusterRoutes } from "../../model/routing-status.ts";
import { subjects } from "../../model/subjects.ts";
import { readPlacement } from "../deploy/deploy-status.ts";
import type { DeployStore } from "../deploy/deploy-store.ts";
import { readHead, readHistory, readInstances, readRegions } from "../deploy/namespace-store.ts";
import type { Participants } from "../deploy/participants.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { parseRequest } from "../nats/parse-request.ts";
import { requestJson } from "../nats/request.ts";
import { readMachines } from "../store/machines.ts";

export interface DeployVerbDeps {
  nc: NatsConnection;
  store: DeployStore;
  participants: Participants;
  runDeploy: (options: {
    spec: NamespaceSpec;
    preview: boolean;
    planHash?: string;
    rollbackOf?: number;
    onProgress?: (event: DeployProgress) => void;
  }) => Promise<DeployOutcome>;
}

/** Progress reports published to the caller's inbox, when it gave one. */
function progressTo(nc: NatsConnection, inbox: string | undefined): { onProgress?: (event: DeployProgress) => void } {
  return inbox ? { onProgress: (event) => nc.publish(inbox, JSON.stringify(event)) } : {};
}

/** Handlers of the deploy verbs; each returns the reply or throws a typed error. */
export function deployVerbs(deps: DeployVerbDeps): Record<string, (body: unknown) => Promise<unknown>> {
  return {
    deploy: async (body) => {
      const request = parseRequest(deployRequestSchema, body, "deploy");
      const spec = namespaceSpecSchema.safeParse(request.spec);
      if (!spec.success) {
        const issue = spec.error.issues[0]!;
        const path = issue.path.join(".");
        throw new ManifestError(`${path || "manifest"}: ${issue.message}`, { path });
      }
      return await deps.runDeploy({
        spec: spec.data,
        preview: request.preview,
        ...progressTo(deps.nc, request.progress),
        ...(request.planHash ? { planHash: request.planHash } : {}),
        ...(request.rollbackOf ? { rollbackOf: request.rollbackOf } : {}),
      });
    },

    ps: async (body) => {
      const request = parseRequest(psRequestSchema, body, "ps");
      const instances = await readInstances(deps.store.instances, request.namespace);
      const machines = [...new Set(instances.map((i) => i.machine))];
      const live = new Map<string, { ok: true; state: string; status: string } | { ok: false; error: string }>();
      await Promise.all(
        machines.map(async (machine) => {
          try {
            const reply = await deps.participants.instances(machine, request.namespace, 3_000);
            for (const c of reply.containers) live.set(c.containerId, { ok: true, state: c.state, status: c.status });
            for (const i of instances) if (i.machine === machine && !live.has(i.containerId)) live.set(i.containerId, { ok: true, state: "missing", status: "no such container on its machine" });
          } catch (error) {
            for (const i of instances) if (i.machine === machine) live.set(i.containerId, { ok: false, error: (error as Error).message });
          }
        }),
      );
      const reply: PsReply = { type: "ps", at: new Date().toISOString(), instances: instances.map((i) => ({ ...i, live: live.get(i.containerId)! })) };
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
        commits: commits.map((c) => ({
          seq: c.seq,
          deployId: c.deployId,
          createdAt: c.createdAt,
          authority: c.authority,
          revisions: c.revisions,
          instances: c.placement.length,
          ...(c.rollbackOf ? { rollbackOf: c.rollbackOf } : {}),
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
      const target = request.to === undefined ? commits.at(-2) : commits.find((c) => c.seq === request.to);
      if (!target) {
        throw request.to === undefined
          ? new NotFoundError(`namespace ${request.namespace} has only one commit (${head.seq}): nothing to roll back to`)
          : new NotFoundError(`namespace ${request.namespace} has no commit ${request.to}`, { hint: `its commits: ${commits.map((c) => c.seq).join(", ")}` });
      }
      if (target.seq === head.seq) throw new InvalidArgumentError(`commit ${target.seq} is already the head of ${request.namespace}`);
      return await deps.runDeploy({ spec: target.spec, preview: false, rollbackOf: target.seq, ...progressTo(deps.nc, request.progress) });
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

    logs: async (body) => {
      const request = parseRequest(logsApiRequestSchema, body, "logs");
      const instances = (await readInstances(deps.store.instances, request.namespace)).filter((i) => i.service === request.service);
      if (instances.length === 0) throw new NotFoundError(`namespace ${request.namespace} has no instances of service ${request.service}`);
      const at = Math.floor(Date.now() / 1000);
      const entries = await Promise.all(
        instances.map(async (i) => {
          try {
            const reply = await requestJson(
              deps.nc,
              subjects.machine(i.machine, "container.logs"),
              { containerId: i.containerId, tail: request.tail, ...(request.since ? { since: request.since } : {}) },
              logsReplySchema,
              { who: `machine ${i.machine}` },
            );
            return { slot: i.slot, machine: i.machine, containerId: i.containerId, text: reply.text };
          } catch (error) {
            return { slot: i.slot, machine: i.machine, containerId: i.containerId, error: (error as Error).message };
          }
        }),
      );
      const reply: LogsApiReply = { type: "logs", at, entries };
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
          if (!head) continue;
          try {
            const outcome = await deps.runDeploy({ spec: head.spec, preview: false });
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

