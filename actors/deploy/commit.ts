import type { DeployContext } from "../../machines/deploy.ts";
import { buildHeadRecord } from "../../model/head-record.ts";
import { appendHead, pruneHistory } from "./commits.ts";
import type { DeployStore } from "./deploy-store.ts";

/**
 * The point of no return: appends the deploy's commit (or removal) under its fence. Nothing else
 * is written here: everything derived from the new head is the roll-forward's. Old history beyond
 * what is kept is pruned afterwards; a failure there is only a warning.
 */
export async function commitDeploy(store: DeployStore, context: DeployContext): Promise<{ seq: number; warnings: string[] }> {
  const record = buildHeadRecord({
    namespace: context.namespace,
    deployId: context.deployId,
    authority: context.machineId,
    operation: context.operation,
    plan: context.plan!,
    started: context.started,
    current: context.world!.planInput.current,
    images: context.world!.planInput.images,
    fenceSeq: context.token!,
    at: new Date().toISOString(),
  });
  const appended = await appendHead(store.js, store.jsm, record);
  const warnings = [...appended.warnings];
  await pruneHistory(store.js, store.jsm, context.namespace).catch((error: unknown) => {
    warnings.push(`could not prune old commits of ${context.namespace}: ${error instanceof Error ? error.message : String(error)}`);
  });
  return { seq: appended.seq, warnings };
}
