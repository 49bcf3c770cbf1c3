import type { Cleanup } from "./cleanup.ts";
import { readDeployPhases, type DeployPhases } from "./deploy-log.ts";
import type { DevCluster } from "./dev-cluster.ts";
import { httpdNamespace } from "./httpd-workload.ts";
import { withUndo } from "./interruption.ts";

/** One deploy as the benchmarks time it. */
export interface TimedDeploy {
  /** client.deploy called → resolved. */
  ms: number;
  /** Where the time went, from ployzd.log (undefined if a milestone is missing). */
  phases: DeployPhases | undefined;
}

/**
 * Deploys `replicas` httpd instances as a fresh namespace, timing `client.deploy` from the call
 * until it resolves, then removes the namespace's containers (untimed; also when interrupted),
 * so every run starts from the same machine.
 */
export async function timedHttpdDeploy(cluster: DevCluster, cleanup: Cleanup, prefix: string, replicas: number): Promise<TimedDeploy> {
  const namespace = cluster.newNamespace(prefix);
  const spec = httpdNamespace(namespace, { replicas });
  const deploy = async () => {
    const calledAt = Date.now();
    const started = performance.now();
    const reply = await cluster.client.deploy({ spec, preview: false });
    const elapsed = performance.now() - started;
    return { reply, elapsed, calledAt, resolvedAt: Date.now() };
  };
  const { reply, elapsed, calledAt, resolvedAt } = await withUndo(cleanup, `remove namespace ${namespace}`, deploy, () => cluster.removeNamespace(namespace));
  if (reply.type !== "deployed" || !reply.deployId) throw new Error(`deploy of ${namespace} answered ${reply.type}, not deployed`);
  return { ms: elapsed, phases: readDeployPhases(cluster.logFile, reply.deployId, calledAt, resolvedAt) };
}
