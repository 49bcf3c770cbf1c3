import type { CommandModule } from "yargs";
import { machineLsRows, type MachineLsRow, type MachinePeerRow } from "../../../model/machine-ls.ts";
import { formatAge } from "../../../model/top-model.ts";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, table } from "../../output.ts";

/**
 * `ployzctl machine ls`: each member's record (Intent) beside what it said just now
 * (Observation): reachable or not, and per peer its link state, handshake age and latency.
 */
export const machineLsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "ls",
  describe: "list the cluster's machines: membership, who holds the store, reachability, WireGuard handshakes and latency",
  handler: async (args) => {
    const list = await withClient(args, (client) => client.machines());
    const rows = machineLsRows(list);
    if (args.json) return printJson({ type: "machines", answeredBy: list.answeredBy, at: list.at, machines: rows, invalid: list.invalid });
    printLines(...formatMachineLs(rows), ...list.invalid.map((bad) => `! invalid record ${bad.key}: ${bad.error}`));
  },
};

/** The human table: one line per machine, then one line per peer it sees, then why any is unreachable. */
export function formatMachineLs(rows: readonly MachineLsRow[]): string[] {
  if (rows.length === 0) return ["no machines"];
  const lines = table(
    ["ID", "NAME", "REGION", "ZONE", "STORE", "STATE", "SUBNET", "OVERLAY", "REACH", "MESH"],
    rows.map((m) => [m.id, m.name, m.region, m.zone ?? "-", m.store, m.state, m.subnet ?? "-", m.overlayIp ?? "-", reach(m), mesh(m)]),
  ).split("\n");
  const withPeers = rows.filter((m) => m.peers.length > 0);
  if (withPeers.length > 0) {
    lines.push("", "PEERS (as each machine sees them)");
    lines.push(
      ...table(
        ["FROM", "TO", "LINK", "HANDSHAKE", "LATENCY"],
        withPeers.flatMap((m) => m.peers.map((p) => [m.id, p.machine, p.state, handshake(p), p.latencyMs === null ? "no answer" : `${p.latencyMs}ms`])),
      ).split("\n"),
    );
  }
  const problems = rows.filter((m) => m.error !== undefined);
  if (problems.length > 0) lines.push("", ...problems.map((m) => `! ${m.id}: ${m.error}`));
  return lines;
}

function reach(m: MachineLsRow): string {
  if (m.reach === "not-asked") return "-";
  if (m.reach === "unreachable") return "UNREACHABLE";
  return `yes (${Math.round(m.askMs ?? 0)}ms)`;
}

/** "in-sync, 2/3 up"; "off" without WireGuard; "?" when it could not say. */
function mesh(m: MachineLsRow): string {
  if (m.mesh === undefined) return m.reach === "reachable" ? "?" : "-";
  if (m.peers.length === 0) return m.mesh;
  return `${m.mesh}, ${m.peers.filter((p) => p.state === "up").length}/${m.peers.length} up`;
}

function handshake(p: MachinePeerRow): string {
  return p.handshakeAgeMs === null ? "never" : `${formatAge(p.handshakeAgeMs)} ago`;
}
