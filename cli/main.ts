import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InvalidArgumentError } from "../model/errors.ts";
import { VERSION } from "../runtime/version.ts";
import type { GlobalArgs } from "./args.ts";
import { debugCommand } from "./commands/debug/index.ts";
import { devCommand } from "./commands/dev/index.ts";
import { deployCommand } from "./commands/deploy.ts";
import { eventsCommand } from "./commands/events.ts";
import { execCommand } from "./commands/exec.ts";
import { explainCommand } from "./commands/explain.ts";
import { historyCommand } from "./commands/history.ts";
import { imageCommand } from "./commands/image/index.ts";
import { logsCommand } from "./commands/logs.ts";
import { machineCommand } from "./commands/machine/index.ts";
import { namespaceCommand } from "./commands/namespace/index.ts";
import { credentialsCommand } from "./commands/credentials/index.ts";
import { contextCommand } from "./commands/context/index.ts";
import { psCommand } from "./commands/ps.ts";
import { regionCommand } from "./commands/region/index.ts";
import { rollbackCommand } from "./commands/rollback.ts";
import { routesCommand } from "./commands/routes.ts";
import { statusCommand } from "./commands/status.ts";
import { topCommand } from "./commands/top.ts";
import { versionCommand } from "./commands/version.ts";
import { printError } from "./output.ts";

/** `ployzctl` (alias `ployz`): parse, run one command, print, exit non-zero on any error. */
export async function main(argv: string[]): Promise<void> {
  const args = hideBin(argv);
  const json = args.includes("--json");
  const cli = yargs(args)
    .scriptName("ployzctl")
    .version(VERSION)
    .option("json", { type: "boolean", default: false, global: true, describe: "print JSON" })
    .option("context", { type: "string", global: true, describe: "which cluster context to use" })
    .command(devCommand)
    .command(statusCommand)
    .command(deployCommand)
    .command(psCommand)
    .command(historyCommand)
    .command(rollbackCommand)
    .command(namespaceCommand)
    .command(explainCommand)
    .command(logsCommand)
    .command(execCommand)
    .command(eventsCommand)
    .command(routesCommand)
    .command(regionCommand)
    .command(imageCommand)
    .command(machineCommand)
    .command(credentialsCommand)
    .command(contextCommand)
    .command(topCommand)
    .command(debugCommand)
    .command(versionCommand)
    .completion("completion", "print a bash/zsh completion script")
    .demandCommand(1, "say what to do (see --help)")
    .strict()
    .recommendCommands()
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error) => {
      throw error ?? new InvalidArgumentError(message);
    });
  try {
    await (cli as unknown as { parseAsync(): Promise<GlobalArgs> }).parseAsync();
  } catch (error) {
    printError(error, json);
    process.exitCode = error instanceof InvalidArgumentError ? 2 : 1;
  }
}
