import type { Commands } from "./commands.ts";

/** One iptables rule: its table, chain and match/target arguments. */
export interface IptablesRule {
  table: "filter" | "nat";
  chain: string;
  spec: string[];
}

export function describeRule(rule: IptablesRule): string {
  return `-t ${rule.table} ${rule.chain} ${rule.spec.join(" ")}`;
}

/** True when the chain exists in that table. */
export async function chainExists(commands: Commands, table: IptablesRule["table"], chain: string): Promise<boolean> {
  return (await commands.attempt(["iptables", "-w", "-t", table, "-n", "-L", chain])).code === 0;
}

/** Inserts the rule at the top of its chain unless it is there already. */
export async function ensureRule(commands: Commands, rule: IptablesRule): Promise<void> {
  if (await hasRule(commands, rule)) return;
  await commands.run(["iptables", "-w", "-t", rule.table, "-I", rule.chain, ...rule.spec]);
}

/** Deletes every copy of the rule; nothing to do when it is absent (or its chain is). */
export async function deleteRule(commands: Commands, rule: IptablesRule): Promise<void> {
  while (await hasRule(commands, rule)) await commands.run(["iptables", "-w", "-t", rule.table, "-D", rule.chain, ...rule.spec]);
}

export async function hasRule(commands: Commands, rule: IptablesRule): Promise<boolean> {
  return (await commands.attempt(["iptables", "-w", "-t", rule.table, "-C", rule.chain, ...rule.spec])).code === 0;
}
