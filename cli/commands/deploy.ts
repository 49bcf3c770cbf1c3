import type { Argv } from "yargs";
import { loadManifestFile } from "../../runtime/manifest-file.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { printJson, printLines, progressOn } from "../output.ts";

interface DeployArgs extends GlobalArgs {
  file: string;
  namespace: string | undefined;
  preview: boolean;
  plan: string | undefined;
}

/** `ployzctl deploy -f FILE`: preview or apply a manifest or Compose file. */
export const deployCommand: CommandBody<DeployArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("file", { alias: "f", type: "string", demandOption: true, describe: "manifest or Compose file (YAML or JSON)" })
      .option("namespace", { alias: "n", type: "string", describe: "namespace (Compose files; must match a manifest's)" })
      .option("preview", { type: "boolean", default: false, describe: "print the exact plan and change nothing" })
      .option("plan", { type: "string", describe: "apply only if the plan is still this one (hash from --preview)" }),
  handler: async (args) => {
    const { spec } = await loadManifestFile(args.file, args.namespace ? { namespace: args.namespace } : {});
    const reply = await withClient(args, (client) => client.deploy({ spec, preview: args.preview, ...(args.plan ? { planHash: args.plan } : {}) }, progressOn(args)));
    if (args.json) return printJson(reply);
    if (reply.type === "previewed") {
      return printLines(...reply.lines, "", `nothing was changed. Apply exactly this plan with: ployzctl deploy -f ${args.file} --plan ${reply.plan.hash}`);
    }
    if (reply.type === "unchanged") return printLines(`namespace ${reply.namespace} is already running this spec: nothing to do`);
    printLines(`deployed namespace ${reply.namespace}: commit ${reply.commitSeq} (deploy ${reply.deployId})`, ...reply.lines, ...(reply.warnings ?? []).map((w) => `warning: ${w}`));
  },
};
