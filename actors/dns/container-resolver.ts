import { containerResolver, type DnsAddress } from "../../model/dns-address.ts";
import type { WorkloadBridge } from "../../model/workload-bridge.ts";
import { bridgeInterfaceAddress } from "./bridge-address.ts";

/**
 * The resolver a container gets, asked at each container start (the bridge may have appeared
 * since ployzd started): the workload bridge's address when the cluster DNS listens on port 53, else none
 * (Docker then gives the host's resolvers). Never an address the container cannot reach.
 */
export function containerDns(dns: DnsAddress, bridge?: WorkloadBridge): { server: string } | undefined {
  const server = containerResolver(dns, bridgeInterfaceAddress(bridge));
  return server ? { server } : undefined;
}
