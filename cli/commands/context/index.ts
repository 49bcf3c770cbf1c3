import type { Argv, CommandModule } from "yargs";
import { importCredentials } from "../../../runtime/context.ts";
import type { CommandBody, GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface ImportArgs extends GlobalArgs {
  file: string;
  name: string | undefined;
}

const importCommand: CommandModule<GlobalArgs, ImportArgs> = {
  command: "import <file>",
  describe: "add a context from a credentials file (`ployzctl credentials create` wrote it); use it with --context NAME",
  builder: (y: Argv<GlobalArgs>) =>
    y.positional("file", { type: "string", demandOption: true }).option("name", { type: "string", describe: "the context's name (default: the credential's)" }) as Argv<ImportArgs>,
  handler: async (args) => {
    const { context, file } = importCredentials(args.file, process.env, args.name);
    if (args.json) return printJson({ type: "context-imported", name: context.name, role: context.identity?.role, file });
    printLines(`imported context ${context.name} (${context.identity?.role} ${context.identity?.name}) to ${file}`, `use it with: ployzctl --context ${context.name} status`);
  },
};

export const contextCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(importCommand).demandCommand(1),
  handler: () => {},
};
