import type { Commit, PlacementEntry, Removal } from "./commit.ts";
import { compareText } from "./compare.ts";
import type { DeployOperation, StartedCandidate } from "./deploy.ts";
import type { InstanceRecord } from "./instance.ts";
import type { Plan } from "./plan.ts";
import { revisionFor } from "./plan-deploy.ts";

export interface HeadRecordInput {
  namespace: string;
  deployId: string;
  authority: string;
  operation: DeployOperation;
  plan: Plan;
  /** Candidates this deploy started (all ready). */
  started: StartedCandidate[];
  /** The head's instances before this deploy, to carry kept ones over. */
  current: InstanceRecord[];
  /** The image ids the plan was made with. */
  images: Record<string, string>;
  fenceSeq: number;
  at: string;
}

/**
 * The record a coordinator appends as the new head: a commit (the whole spec, the exact images,
 * and where every instance runs: kept ones and the candidates it started) or, for `namespace
 * rm`, a removal. Pure: everything it says comes from the plan and what the deploy did.
 */
export function buildHeadRecord(input: HeadRecordInput): Commit | Removal {
  const base = { namespace: input.namespace, deployId: input.deployId, authority: input.authority, parentSeq: input.plan.baseCommitSeq, fenceSeq: input.fenceSeq, createdAt: input.at };
  if (input.operation.kind === "remove") return { type: "removal", ...base };
  const { spec } = input.operation;
  const current = new Map(input.current.map((i) => [i.containerId, i]));
  const placement: PlacementEntry[] = [
    ...input.plan.operations.flatMap((op): PlacementEntry[] => {
      if (op.type !== "keep") return [];
      const kept = current.get(op.containerId);
      return [
        {
          service: op.service,
          slot: op.slot,
          revision: op.revision,
          machine: op.machine,
          containerId: op.containerId,
          ...(kept ? { deployId: kept.deployId, containerName: kept.containerName, startedAt: kept.createdAt } : {}),
        },
      ];
    }),
    ...input.started.map((c) => ({
      service: c.service,
      slot: c.slot,
      revision: c.revision,
      machine: c.machine,
      containerId: c.containerId,
      deployId: input.deployId,
      containerName: c.containerName,
      startedAt: c.startedAt,
    })),
  ].sort((a, b) => compareText(a.service, b.service) || a.slot - b.slot);
  const used = new Set(Object.values(spec.services).map((s) => s.image));
  return {
    type: "commit",
    ...base,
    spec,
    revisions: Object.fromEntries(Object.entries(spec.services).map(([name, s]) => [name, revisionFor(name, s, input.images)])),
    images: Object.fromEntries(Object.entries(input.images).filter(([ref]) => used.has(ref))),
    placement,
    planHash: input.plan.hash,
    ...(input.operation.rollbackOf ? { rollbackOf: input.operation.rollbackOf } : {}),
    ...(input.operation.reason ? { reason: input.operation.reason } : {}),
  };
}
