import type { CommandModule } from "yargs";
import type { GlobalArgs } from "../../args.ts";
import { debugCrashCommand } from "./crash.ts";

export const debugCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "debug <command>",
  describe: "tools for debugging the actors",
  builder: (y) => y.command(debugCrashCommand).demandCommand(1),
  handler: () => {},
};
