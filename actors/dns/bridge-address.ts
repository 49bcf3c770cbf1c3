import { networkInterfaces } from "node:os";
import type Docker from "dockerode";

/** The Docker bridge as observed now: its address, or why there is none. */
export type BridgeObservation = { address: string; why?: undefined } | { address: undefined; why: string };

/** The interface dockerd creates for its default `bridge` network. */
const BRIDGE_INTERFACE = "docker0";

/**
 * This machine's Docker bridge address, asked now (an observation, never stored): `docker0`'s
 * IPv4 address, else the gateway of dockerd's `bridge` network. None while dockerd has never run.
 */
export async function observeBridge(docker: Docker): Promise<BridgeObservation> {
  const address = bridgeInterfaceAddress();
  if (address) return { address };
  try {
    const network = (await docker.getNetwork("bridge").inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> } };
    const config = network.IPAM?.Config?.[0];
    if (config?.Gateway) return { address: config.Gateway };
    // Docker 20.10 leaves Gateway out: the bridge takes the subnet's first address.
    const base = config?.Subnet?.match(/^(\d+\.\d+\.\d+)\.0\//)?.[1];
    if (base) return { address: `${base}.1` };
    return { address: undefined, why: `dockerd's bridge network has no IPv4 subnet (${JSON.stringify(network.IPAM?.Config ?? [])})` };
  } catch (error) {
    return { address: undefined, why: `no ${BRIDGE_INTERFACE} interface, and dockerd did not say: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** `docker0`'s IPv4 address now, read from the kernel without asking dockerd (cheap, synchronous). */
export function bridgeInterfaceAddress(): string | undefined {
  return networkInterfaces()[BRIDGE_INTERFACE]?.find((a) => a.family === "IPv4")?.address;
}
