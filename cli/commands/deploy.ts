import type { Argv } from "yargs";
import { loadManifestFile } from "../../runtime/manifest-file.ts";
import { withLazyClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { printJson, printLines, progressOn } from "../output.ts";

interface DeployArgs extends GlobalArgs {
  file: string;
  namespace: string | undefined;
  preview: boolean;
  plan: string | undefined;
  profile: string[] | undefined;
}

/** `ployzctl deploy -f FILE`: preview or apply a manifest or Compose file. */
export const deployCommand: CommandBody<DeployArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("file", { alias: "f", type: "string", demandOption: true, describe: "manifest or Compose file (YAML or JSON)" })
      .option("namespace", { alias: "n", type: "string", describe: "namespace (Compose files; must match a manifest's)" })
      .option("preview", { type: "boolean", default: false, describe: "print the exact plan and change nothing" })
      .option("plan", { type: "string", describe: "apply only if the plan is still this one (hash from --preview)" })
      .option("profile", { type: "string", array: true, describe: "Compose profile to deploy too (repeatable; default: COMPOSE_PROFILES)" }),
  handler: async (args) => {
    const reply = await withLazyClient(args, async (client) => {
      const { spec, secrets } = await loadManifestFile(args.file, {
        ...(args.namespace ? { namespace: args.namespace } : {}),
        ...(args.profile ? { profiles: args.profile } : {}),
        secretKey: async () => await (await client()).secretVersionKey(),
      });
      // Secret values go to the secret store, never into the spec; a preview stores nothing.
      if (!args.preview) await (await client()).storeSecrets(secrets);
      return await (await client()).deploy({ spec, preview: args.preview, ...(args.plan ? { planHash: args.plan } : {}) }, progressOn(args));
    });
    if (args.json) return printJson(reply);
    if (reply.type === "previewed") {
      const same = [args.namespace ? ` -n ${args.namespace}` : "", ...(args.profile ?? []).map((p) => ` --profile ${p}`)].join("");
      return printLines(...reply.lines, "", `nothing was changed. Apply exactly this plan with: ployzctl deploy -f ${args.file}${same} --plan ${reply.plan.hash}`);
    }
    const notes = (reply.notes ?? []).map((n) => `settled first: ${n}`);
    const warnings = (reply.warnings ?? []).map((w) => `warning: ${w}`);
    if (reply.type === "unchanged") return printLines(`namespace ${reply.namespace} is already running this spec: nothing to do`, ...notes, ...warnings);
    printLines(`deployed namespace ${reply.namespace}: commit ${reply.commitSeq} (deploy ${reply.deployId})`, ...notes, ...reply.lines, ...warnings);
  },
};
