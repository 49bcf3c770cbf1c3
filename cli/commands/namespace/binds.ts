import type { Argv, CommandModule } from "yargs";
import type { BindPolicyReply } from "../../../model/api-deploy.ts";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, table } from "../../output.ts";

interface NamespaceBindsArgs extends GlobalArgs {
  namespace: string;
}

/** The host directories a namespace may bind-mount, where each comes from, and what is refused always. */
export function bindPolicyLines(reply: BindPolicyReply): string[] {
  const rows = [...reply.allowed.map((dir) => [dir, "namespace"]), ...reply.defaults.map((dir) => [dir, "cluster default"])];
  const allowed =
    rows.length > 0
      ? [`namespace ${reply.namespace} may bind-mount host paths under:`, table(["DIRECTORY", "ALLOWED BY"], rows)]
      : [`namespace ${reply.namespace} may bind-mount no host path (allow a directory with \`ployzctl namespace allow-bind ${reply.namespace} DIR\`)`];
  return [...allowed, `refused always, allowed or not (as ${reply.answeredBy} judges; and what holds them): ${reply.refused.map((r) => r.path).join(" ")}`];
}

/** `ployzctl namespace binds NS`: the namespace's bind policy. */
export const namespaceBindsCommand: CommandModule<GlobalArgs, NamespaceBindsArgs> = {
  command: "binds <namespace>",
  describe: "list the host directories a namespace may bind-mount",
  builder: (y: Argv<GlobalArgs>) => y.positional("namespace", { type: "string", demandOption: true }) as Argv<NamespaceBindsArgs>,
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.namespaceBinds(args.namespace));
    if (args.json) return printJson(reply);
    printLines(...bindPolicyLines(reply));
  },
};
