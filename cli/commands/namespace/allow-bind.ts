import type { Argv, CommandModule } from "yargs";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";
import { bindPolicyLines } from "./binds.ts";

interface NamespaceBindPathArgs extends GlobalArgs {
  namespace: string;
  path: string;
}

/** `ployzctl namespace allow-bind NS DIR`: the namespace may bind-mount host paths under DIR. */
export const namespaceAllowBindCommand: CommandModule<GlobalArgs, NamespaceBindPathArgs> = {
  command: "allow-bind <namespace> <path>",
  describe: "allow a namespace to bind-mount host paths under a directory (never /etc, /run, the Docker socket… or a parent of one)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("namespace", { type: "string", demandOption: true })
      .positional("path", { type: "string", demandOption: true, describe: "an absolute directory on the machines" }) as Argv<NamespaceBindPathArgs>,
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.namespaceAllowBind(args.namespace, args.path));
    if (args.json) return printJson(reply);
    printLines(reply.changed ? `allowed: namespace ${reply.namespace} may bind-mount host paths under ${reply.path}` : `already allowed: ${reply.path} for namespace ${reply.namespace}`, ...bindPolicyLines(reply));
  },
};
