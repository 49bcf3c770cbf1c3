import { JetStreamApiError } from "@nats-io/jetstream";
import type { Commit, NamespaceRecord } from "../../model/commit.ts";
import type { StartedCandidate } from "../../model/deploy.ts";
import { CommitConflictError } from "../../model/errors.ts";
import { instanceKey, type InstanceRecord } from "../../model/instance.ts";
import type { NamespaceSpec } from "../../model/manifest.ts";
import type { Plan } from "../../model/plan.ts";
import { serviceRevision } from "../../model/revision.ts";
import { routingRecordsForCommit, routingSubject } from "../../model/routing.ts";
import { readNamespaceRouting } from "../routing/read-routing.ts";
import type { DeployStore } from "./deploy-store.ts";

export interface CommitInput {
  namespace: string;
  deployId: string;
  authority: string;
  spec: NamespaceSpec;
  plan: Plan;
  started: StartedCandidate[];
  rollbackOf?: number;
  /** Committed instances before this deploy, to carry kept ones over. */
  current: InstanceRecord[];
}

/**
 * The point of no return: appends the commit to `commits.<ns>` expecting the head the plan was
 * made from (a concurrent writer makes this fail, not overwrite), then writes instance status
 * and the namespace record.
 */
export async function commitDeploy(store: DeployStore, input: CommitInput): Promise<{ seq: number; routingSeq: number }> {
  const now = new Date().toISOString();
  const kept = input.plan.operations.filter((op) => op.type === "keep");
  const commit: Commit = {
    type: "commit",
    namespace: input.namespace,
    deployId: input.deployId,
    authority: input.authority,
    parentSeq: input.plan.baseCommitSeq,
    spec: input.spec,
    revisions: Object.fromEntries(Object.entries(input.spec.services).map(([name, s]) => [name, serviceRevision(s)])),
    placement: [
      ...kept.map((op) => ({ service: op.service, slot: op.slot, revision: op.revision, machine: op.machine, containerId: op.containerId })),
      ...input.started.map((c) => ({ service: c.service, slot: c.slot, revision: c.revision, machine: c.machine, containerId: c.containerId })),
    ].sort((a, b) => a.service.localeCompare(b.service) || a.slot - b.slot),
    planHash: input.plan.hash,
    ...(input.rollbackOf ? { rollbackOf: input.rollbackOf } : {}),
    createdAt: now,
  };
  let seq: number;
  try {
    const ack = await store.js.publish(`commits.${input.namespace}`, JSON.stringify(commit), {
      expect: { lastSubjectSequence: input.plan.baseCommitSeq ?? 0 },
      msgID: `commit-${input.deployId}`,
    });
    seq = ack.seq;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10071) {
      throw new CommitConflictError(`namespace ${input.namespace} has a newer commit than ${input.plan.baseCommitSeq ?? "none"}: another authority wrote to it`, { cause: error });
    }
    throw error;
  }

  // Instance status (Intent): new candidates, kept instances carried over, the rest removed.
  const byKey = new Map(input.current.map((i) => [instanceKey(i.namespace, i.service, i.slot), i]));
  const next = new Map<string, InstanceRecord>();
  for (const op of kept) {
    const existing = byKey.get(instanceKey(input.namespace, op.service, op.slot));
    if (existing) next.set(instanceKey(input.namespace, op.service, op.slot), { ...existing, commitSeq: seq });
  }
  for (const c of input.started) {
    const spec = input.spec.services[c.service]!;
    next.set(instanceKey(input.namespace, c.service, c.slot), {
      namespace: input.namespace,
      service: c.service,
      slot: c.slot,
      machine: c.machine,
      revision: c.revision,
      containerId: c.containerId,
      containerName: c.containerName,
      ...(c.address ? { address: c.address } : {}),
      ports: spec.ports.map((p) => ({ container: p.container, protocol: p.protocol, ...(p.published ? { published: p.published } : {}) })),
      resources: { ...(spec.resources.cpu ? { cpu: spec.resources.cpu } : {}), ...(spec.resources.memory ? { memory: spec.resources.memory } : {}) },
      deployId: input.deployId,
      commitSeq: seq,
      createdAt: now,
    });
  }
  for (const [key, record] of next) await store.instances.put(key, JSON.stringify(record));
  for (const key of byKey.keys()) if (!next.has(key)) await store.instances.delete(key);

  // Routing events: one whole record per service whose routes or ready backends changed.
  const previous = await readNamespaceRouting(store.jsm, input.namespace);
  const routing = routingRecordsForCommit({ spec: input.spec, commitSeq: seq, revisions: commit.revisions, instances: [...next.values()], previous, at: now });
  let routingSeq = 0;
  for (const record of routing) routingSeq = (await store.js.publish(routingSubject(record.namespace, record.service), JSON.stringify(record))).seq;

  const record: NamespaceRecord = { name: input.namespace, authority: input.authority, headSeq: seq, headDeployId: input.deployId, updatedAt: now };
  await store.namespaces.put(input.namespace, JSON.stringify(record));
  return { seq, routingSeq };
}
