import type { Argv, CommandModule } from "yargs";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";
import { bindPolicyLines } from "./binds.ts";

interface NamespaceBindPathArgs extends GlobalArgs {
  namespace: string;
  path: string;
}

/** `ployzctl namespace disallow-bind NS DIR`: takes back an allowed directory. */
export const namespaceDisallowBindCommand: CommandModule<GlobalArgs, NamespaceBindPathArgs> = {
  command: "disallow-bind <namespace> <path>",
  describe: "take back a directory allowed with allow-bind (running containers keep their mounts until they are replaced)",
  builder: (y: Argv<GlobalArgs>) =>
    y.positional("namespace", { type: "string", demandOption: true }).positional("path", { type: "string", demandOption: true }) as Argv<NamespaceBindPathArgs>,
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.namespaceDisallowBind(args.namespace, args.path));
    if (args.json) return printJson(reply);
    printLines(
      `disallowed: namespace ${reply.namespace} may no longer bind-mount host paths under ${reply.path} (its running containers keep their mounts until they are replaced)`,
      ...bindPolicyLines(reply),
    );
  },
};
