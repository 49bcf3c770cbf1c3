import { networkInterfaces } from "node:os";
import type Docker from "dockerode";
import { DOCKER_DEFAULT_BRIDGE, type WorkloadBridge } from "../../model/workload-bridge.ts";

/** The workload bridge as observed now: its address, or why there is none. */
export type BridgeObservation = { address: string; why?: undefined } | { address: undefined; why: string };

/**
 * This machine's workload bridge address, asked now (an observation, never stored): the bridge
 * interface's IPv4 address (`docker0`, or `ployzbr0` on a meshed machine whose docker0 is not on
 * its workload subnet), else the gateway of its Docker network. None while dockerd has never run.
 */
export async function observeBridge(docker: Docker, bridge: WorkloadBridge = DOCKER_DEFAULT_BRIDGE): Promise<BridgeObservation> {
  const address = bridgeInterfaceAddress(bridge);
  if (address) return { address };
  try {
    const network = (await docker.getNetwork(bridge.network).inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> } };
    const config = network.IPAM?.Config?.[0];
    if (config?.Gateway) return { address: config.Gateway };
    // Docker 20.10 leaves Gateway out: the bridge takes the subnet's first address.
    const base = config?.Subnet?.match(/^(\d+\.\d+\.\d+)\.0\//)?.[1];
    if (base) return { address: `${base}.1` };
    return { address: undefined, why: `dockerd's ${bridge.network} network has no IPv4 subnet (${JSON.stringify(network.IPAM?.Config ?? [])})` };
  } catch (error) {
    return { address: undefined, why: `no ${bridge.interface} interface, and dockerd did not say: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The bridge interface's IPv4 address now, read from the kernel without asking dockerd (cheap, synchronous). */
export function bridgeInterfaceAddress(bridge: WorkloadBridge = DOCKER_DEFAULT_BRIDGE): string | undefined {
  return networkInterfaces()[bridge.interface]?.find((a) => a.family === "IPv4")?.address;
}
