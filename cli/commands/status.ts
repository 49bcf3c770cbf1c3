import type { ClusterStatus } from "../../model/api.ts";
import type { MachineObservation } from "../../model/observation.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { formatBytes, formatTime, printJson, printLines, table } from "../output.ts";

/** `ployzctl status`: Intent and Status from the store, Observation asked live, kept apart. */
export const statusCommand: CommandBody<GlobalArgs> = {
  handler: async (args) => {
    const status = await withClient(args, (client) => client.status());
    if (args.json) printJson(status);
    else printLines(renderStatus(status));
  },
};

export function renderStatus(status: ClusterStatus): string {
  const { intent } = status;
  const active = intent.machines.filter((m) => m.state === "active").length;
  const out: string[] = [`cluster status at ${formatTime(status.at)} (answered by ${status.answeredBy})`, ""];
  out.push(`INTENT — ${intent.machines.length} machine(s), ${active} active`);
  out.push(
    indent(
      table(
        ["ID", "NAME", "REGION", "ZONE", "STORAGE", "STATE"],
        intent.machines.map((m) => [m.id, m.name, m.region, m.zone ?? "-", m.storage ? "yes" : "no", m.state]),
      ),
    ),
  );
  for (const bad of intent.invalid) out.push(`  ! invalid record ${bad.key}: ${bad.error}`);
  out.push("", "STATUS");
  out.push(status.status.schema ? `  store schema v${status.status.schema.version} (declared by ${status.status.schema.declaredBy})` : "  store schema: none recorded");
  for (const n of status.status.nodes) out.push(`  ${n.machine}: ${n.event}${n.detail ? ` (${n.detail})` : ""} at ${formatTime(n.at)}, v${n.version}`);
  out.push("", "OBSERVATION — asked live just now");
  for (const o of status.observation) out.push(...renderObservation(o));
  return out.join("\n");
}

function renderObservation(o: MachineObservation): string[] {
  if (!o.ok) return [`  ${o.machine}: UNREACHABLE after ${o.latencyMs} ms — ${o.error.message}`];
  const c = o.capacity;
  const containers = c.containers.ok ? `${c.containers.running}/${c.containers.total} running` : `docker: ${c.containers.error}`;
  const actors = o.children
    .map((a) => (a.state === "running" ? `${a.name} ${a.state}${a.restarts ? ` (${a.restarts} restarts)` : ""}` : `${a.name} ${a.state.toUpperCase()} (${a.restarts} restarts${a.lastError ? `: ${a.lastError}` : ""})`))
    .join(", ");
  return [
    `  ${o.machine}: answered in ${o.latencyMs} ms`,
    `    cpu ${c.cpu.cores} cores, load ${c.cpu.load1m.toFixed(2)}; memory ${formatBytes(c.memory.freeBytes)} free of ${formatBytes(c.memory.totalBytes)}; disk ${formatBytes(c.disk.freeBytes)} free of ${formatBytes(c.disk.totalBytes)}; containers ${containers}`,
    `    actors: ${actors}`,
  ];
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
