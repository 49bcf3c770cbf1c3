import { containerResolver, type DnsAddress } from "../../model/dns-address.ts";
import { bridgeInterfaceAddress } from "./bridge-address.ts";

/**
 * The resolver a container gets, asked at each container start (the bridge may have appeared
 * since ployzd started): the bridge address when the cluster DNS listens on port 53, else none
 * (Docker then gives the host's resolvers). Never an address the container cannot reach.
 */
export function containerDns(dns: DnsAddress): { server: string } | undefined {
  const server = containerResolver(dns, bridgeInterfaceAddress());
  return server ? { server } : undefined;
}
