import type { Argv } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { printJson, printLines, table } from "../output.ts";

interface PsArgs extends GlobalArgs {
  namespace: string | undefined;
}

/** `ployzctl ps`: committed instances (Intent) with their live state (Observation). */
export const psCommand: CommandBody<PsArgs> = {
  builder: (y: Argv<GlobalArgs>) => y.option("namespace", { alias: "n", type: "string", describe: "only this namespace" }),
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.ps(args.namespace));
    if (args.json) return printJson(reply);
    if (reply.instances.length === 0) return printLines(args.namespace ? `namespace ${args.namespace} has no instances` : "no instances");
    printLines(
      table(
        ["NAMESPACE", "SERVICE", "SLOT", "MACHINE", "STATE", "REVISION", "ADDRESS", "CONTAINER"],
        reply.instances.map((i) => [
          i.namespace,
          i.service,
          String(i.slot),
          i.machine,
          i.live.ok ? i.live.state : `unknown (${i.live.error})`,
          i.revision,
          i.address ?? "-",
          i.containerName,
        ]),
      ),
    );
  },
};
