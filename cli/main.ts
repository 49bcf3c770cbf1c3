import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InvalidArgumentError } from "../model/errors.ts";
import { VERSION } from "../runtime/version.ts";
import type { GlobalArgs } from "./args.ts";
import { COMMANDS, findCommand } from "./commands/index.ts";
import { printError } from "./output.ts";

/** `ployzctl` (alias `ployz`): parse, run one command, print, exit non-zero on any error. */
export async function main(argv: string[]): Promise<void> {
  const given = hideBin(argv);
  const json = given.includes("--json");
  try {
    // Contexts (and zod) load only for the commands that use one: `version` and `--help` stay light.
    const args = given.some((word) => word.startsWith("--machine")) ? (await import("./lab-machine-option.ts")).expandMachineShortcut(given, process.env) : given;
    // Only the command being run is loaded; the others are listed by name for --help,
    // suggestions and completion.
    const chosen = findCommand(args);
    // A lab machine's context: the command runs in that machine's network namespace.
    if (chosen && !chosen.local && !args.includes("--help")) {
      const status = (await import("./lab-machine-option.ts")).reenterForContext(args, process.env);
      if (status !== undefined) {
        process.exitCode = status;
        return;
      }
    }
    const body = chosen ? await chosen.load() : undefined;
    const cli = yargs(args)
      .scriptName("ployzctl")
      .version(VERSION)
      .option("json", { type: "boolean", default: false, global: true, describe: "print JSON" })
      .option("context", { type: "string", global: true, describe: "which cluster context to use" })
      .epilogue("--machine NAME before the command: the context of lab machine NAME (`ployzctl --machine dev-2 machine ls`)");
    for (const entry of COMMANDS) {
      if (entry === chosen && body) cli.command({ command: entry.command, describe: entry.describe, ...body });
      else
        cli.command({
          command: entry.command,
          describe: entry.describe,
          handler: () => {
            throw new Error(`internal error: ployzctl ran \`${entry.command}\` without loading it (arguments: ${args.join(" ")})`);
          },
        });
    }
    cli
      .completion("completion", "print a bash/zsh completion script")
      .demandCommand(1, "say what to do (see --help)")
      .strict()
      .recommendCommands()
      .help()
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((message, error) => {
        throw error ?? new InvalidArgumentError(message);
      });
    await (cli as unknown as { parseAsync(): Promise<GlobalArgs> }).parseAsync();
  } catch (error) {
    printError(error, json);
    process.exitCode = error instanceof InvalidArgumentError ? 2 : 1;
  }
}
