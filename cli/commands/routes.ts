import type { Argv } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { formatTime, printJson, printLines, table } from "../output.ts";

interface RoutesArgs extends GlobalArgs {
  namespace: string | undefined;
}

/** `ployzctl routes`: what each machine's gateway serves, its stream sequence and freshness. */
export const routesCommand: CommandBody<RoutesArgs> = {
  builder: (y: Argv<GlobalArgs>) => y.option("namespace", { alias: "n", type: "string", describe: "only this namespace" }),
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.routes());
    if (args.namespace) {
      for (const m of reply.machines) if (m.ok) for (const c of m.consumers) c.services = c.services.filter((s) => s.namespace === args.namespace);
    }
    if (args.json) return printJson(reply);
    const lines: string[] = [];
    for (const m of reply.machines) {
      if (!m.ok) {
        lines.push(`${m.machine}: UNREACHABLE — ${m.error}`);
        continue;
      }
      for (const c of m.consumers) {
        const freshness = c.freshness.state === "stale" ? `stale since ${formatTime(c.freshness.since)} (${c.freshness.reason})` : c.freshness.state;
        lines.push(`${m.machine} ${c.kind} ${c.listen}: sequence ${c.seq}, ${freshness}, ${c.reloads} reload(s)`);
        if (c.applyError) lines.push(`  not applied: ${c.applyError}`);
        for (const e of c.excluded ?? []) lines.push(`  left out ${e.namespace}/${e.service}: ${e.reason}`);
        for (const i of c.invalid ?? []) lines.push(`  invalid record ${i.seq} on ${i.subject}: ${i.reason}`);
        if (c.kind !== "gateway") continue;
        const rows = c.services.flatMap((s) =>
          s.hostnames.map((h) => [h, `${s.namespace}/${s.service}`, String(s.commitSeq), s.backends.length ? s.backends.join(", ") : "none (503)"]),
        );
        if (rows.length) lines.push(table(["HOST+PATH", "SERVICE", "COMMIT", "BACKENDS"], rows).replace(/^/gm, "  "));
        if (c.tls) {
          lines.push(`  https ${c.tls.https ?? "off"}: ${c.tls.acme.configured ? `acme ${c.tls.acme.directory}` : "acme not configured"}`);
          const certificates = c.tls.certificates.map((cert) => [cert.hostname, formatTime(cert.notAfter), cert.issuer]);
          if (certificates.length) lines.push(table(["CERTIFICATE", "NOT AFTER", "ISSUER"], certificates).replace(/^/gm, "  "));
          for (const w of c.tls.waiting) lines.push(`  no certificate for ${w.hostname}: ${w.reason}`);
        }
      }
    }
    printLines(...lines);
  },
};
