import type { Argv, CommandModule } from "yargs";
import { InvalidArgumentError } from "../../../model/errors.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, progressOn } from "../../output.ts";
import { namespaceAllowBindCommand } from "./allow-bind.ts";
import { namespaceBindsCommand } from "./binds.ts";
import { namespaceDisallowBindCommand } from "./disallow-bind.ts";

interface NamespaceRmArgs extends GlobalArgs {
  namespace: string;
  yes: boolean;
}

/** Asks on the terminal; anything but the namespace's own name is a no. */
async function confirmed(namespace: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`this removes every instance and route of namespace ${namespace} (its history stays). Type its name to go on: `);
    return answer.trim() === namespace;
  } finally {
    rl.close();
  }
}

const namespaceRm: CommandModule<GlobalArgs, NamespaceRmArgs> = {
  command: "rm <namespace>",
  describe: "remove a namespace: its instances, routes and hostname claims go, its history stays",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("namespace", { type: "string", demandOption: true })
      .option("yes", { type: "boolean", default: false, describe: "do not ask (needed when not on a terminal)" }) as Argv<NamespaceRmArgs>,
  handler: async (args) => {
    if (!args.yes) {
      if (!process.stdin.isTTY || args.json) throw new InvalidArgumentError(`namespace rm ${args.namespace} removes every instance and route of it: add --yes to confirm`);
      if (!(await confirmed(args.namespace))) throw new InvalidArgumentError(`not confirmed: namespace ${args.namespace} is untouched`);
    }
    const reply = await withClient(args, (client) => client.namespaceRm(args.namespace, progressOn(args)));
    if (args.json) return printJson(reply);
    printLines(`removed namespace ${reply.namespace}: commit ${reply.commitSeq} (deploy ${reply.deployId})`, ...reply.lines, ...(reply.warnings ?? []).map((w) => `warning: ${w}`));
  },
};

export const namespaceCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(namespaceRm).command(namespaceBindsCommand).command(namespaceAllowBindCommand).command(namespaceDisallowBindCommand).demandCommand(1),
  handler: () => {},
};
