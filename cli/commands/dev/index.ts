import type { CommandModule } from "yargs";
import type { GlobalArgs } from "../../args.ts";
import { devDownCommand } from "./down.ts";
import { devLogsCommand } from "./logs.ts";
import { devStatusCommand } from "./status.ts";
import { devUpCommand } from "./up.ts";

export const devCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "dev <command>",
  describe: "a Ployz cluster on this computer",
  builder: (y) => y.command(devUpCommand).command(devDownCommand).command(devStatusCommand).command(devLogsCommand).demandCommand(1),
  handler: () => {},
};
