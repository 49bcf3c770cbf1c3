import type { Argv } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { formatBytes, formatTime, printJson, printLines } from "../output.ts";

interface ExplainArgs extends GlobalArgs {
  namespace: string;
  service: string;
}

/** `ployzctl explain -n NS SERVICE`: why each instance is where it is, beside a fresh observation. */
export const explainCommand: CommandBody<ExplainArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y.option("namespace", { alias: "n", type: "string", demandOption: true }).positional("service", { type: "string", demandOption: true }),
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.explain(args.namespace, args.service));
    if (args.json) return printJson(reply);
    const lines = [
      `${reply.namespace}/${reply.service} rev ${reply.revision} (${reply.change}), decided at ${formatTime(reply.decidedAt)} by deploy ${reply.deployId}${reply.commitSeq ? `, commit ${reply.commitSeq}` : ""}`,
      "",
    ];
    for (const c of reply.candidates) {
      const verdict = c.placed > 0 ? `CHOSEN for ${c.placed} instance(s)` : c.eligible ? "eligible, not chosen" : "NOT ELIGIBLE";
      lines.push(`${c.machine} (region ${c.region}${c.zone ? `, zone ${c.zone}` : ""}): ${verdict}`);
      for (const reason of c.reasons) lines.push(`    then: ${reason}`);
      lines.push(
        c.now.ok
          ? `    now:  ${formatBytes(c.now.capacity.memory.freeBytes)} memory free, load ${c.now.capacity.cpu.load1m.toFixed(2)} on ${c.now.capacity.cpu.cores} cores`
          : `    now:  unreachable — ${c.now.error}`,
      );
    }
    lines.push("", "instances:");
    for (const i of reply.instances) lines.push(`  ${i.service}#${i.slot} on ${i.machine} rev ${i.revision} ${i.containerName}`);
    printLines(...lines);
  },
};
