import type Docker from "dockerode";
import { LABELS } from "../../model/instance.ts";
import { BRIDGE_NAME_OPTION, decideWorkloadBridge, DOCKER_DEFAULT_BRIDGE, PLOYZ_WORKLOAD_BRIDGE, type ObservedNetwork, type WorkloadBridge } from "../../model/workload-bridge.ts";
import { translateDockerError } from "./containers.ts";

/** The workload bridge at this start, and what was done to have it. */
export interface EnsuredWorkloadBridge {
  bridge: WorkloadBridge;
  /** For the log: created, adopted, or why dockerd's own bridge is it. */
  how: string;
}

/**
 * Makes sure this machine has its workload bridge (model/workload-bridge.ts): without a mesh
 * (`subnet` undefined) Docker's default bridge, untouched; with one, docker0 when it holds the
 * subnet, else the `ployz` bridge network on the subnet, created now (idempotent: adopted when it
 * is there with the subnet, refused loudly when it is there with another).
 */
export async function ensureWorkloadBridge(docker: Docker, subnet: string | undefined): Promise<EnsuredWorkloadBridge> {
  if (subnet === undefined) return { bridge: DOCKER_DEFAULT_BRIDGE, how: "no mesh: Docker's default bridge" };
  const decide = async () => decideWorkloadBridge(subnet, await inspectNetwork(docker, DOCKER_DEFAULT_BRIDGE.network), await inspectNetwork(docker, PLOYZ_WORKLOAD_BRIDGE.network));
  const decision = await decide();
  if (decision.action === "use") return { bridge: decision.bridge, how: decision.why };
  try {
    await docker.createNetwork({
      Name: decision.bridge.network,
      Driver: "bridge",
      CheckDuplicate: true,
      IPAM: { Driver: "default", Config: [{ Subnet: decision.subnet, Gateway: decision.gateway }] },
      Options: { [BRIDGE_NAME_OPTION]: decision.bridge.interface },
      Labels: { [LABELS.managed]: "true" },
    });
  } catch (error) {
    // Another start made it in between: decide again on what is there now (adopt or refuse).
    if ((error as { statusCode?: number }).statusCode !== 409) throw translateDockerError(error, `creating the Docker network ${decision.bridge.network} on ${decision.subnet}`);
    const again = await decide();
    if (again.action === "use") return { bridge: again.bridge, how: again.why };
    throw translateDockerError(error, `creating the Docker network ${decision.bridge.network} on ${decision.subnet}`);
  }
  return { bridge: decision.bridge, how: `created the Docker network ${decision.bridge.network} (interface ${decision.bridge.interface}) on the workload subnet ${decision.subnet}, gateway ${decision.gateway}` };
}

/** A Docker network as the decision needs it, or undefined when there is none of that name. */
export async function inspectNetwork(docker: Docker, name: string): Promise<ObservedNetwork | undefined> {
  let info: { Name?: string; Id?: string; IPAM?: { Config?: Array<{ Subnet?: string }> }; Options?: Record<string, string> };
  try {
    info = (await docker.getNetwork(name).inspect()) as typeof info;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw translateDockerError(error, `the Docker network ${name}`);
  }
  // Inspect by name also matches an id prefix: only the network of that very name counts.
  if (info.Name !== name) return undefined;
  const bridgeName = info.Options?.[BRIDGE_NAME_OPTION];
  return { name, id: info.Id ?? "", subnets: (info.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [c.Subnet] : [])), ...(bridgeName ? { bridgeName } : {}) };
}
