import type { Commands } from "../host/commands.ts";
import { chainExists, deleteRule, ensureRule, type IptablesRule } from "../host/iptables.ts";

/**
 * The rules that let containers reach other machines' containers over the mesh, by their own
 * addresses: forwarding between the WireGuard interface and the workload bridge (`docker0` or `ployzbr0`, model/workload-bridge.ts) both ways (in
 * DOCKER-USER, which Docker consults first and never rewrites; FORWARD when dockerd has not made
 * it), and no masquerading out of the WireGuard interface — Docker masquerades everything that
 * leaves its bridge, and the interface has no IPv4 address of its subnet to masquerade to, while
 * the peer accepts our subnet as it is.
 */
export async function workloadForwardingRules(commands: Commands, wireguard: string, bridge: string): Promise<IptablesRule[]> {
  const chain = (await chainExists(commands, "filter", "DOCKER-USER")) ? "DOCKER-USER" : "FORWARD";
  return [
    { table: "filter", chain, spec: ["-i", wireguard, "-o", bridge, "-j", "ACCEPT"] },
    { table: "filter", chain, spec: ["-i", bridge, "-o", wireguard, "-j", "ACCEPT"] },
    { table: "nat", chain: "POSTROUTING", spec: ["-o", wireguard, "-j", "RETURN"] },
  ];
}

/** Adds the rules (idempotent). */
export async function allowWorkloadForwarding(commands: Commands, wireguard: string, bridge: string): Promise<void> {
  for (const rule of await workloadForwardingRules(commands, wireguard, bridge)) await ensureRule(commands, rule);
}

/** Removes them again (idempotent). */
export async function removeWorkloadForwarding(commands: Commands, wireguard: string, bridge: string): Promise<void> {
  for (const rule of await workloadForwardingRules(commands, wireguard, bridge)) await deleteRule(commands, rule);
}
