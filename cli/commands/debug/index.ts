import type { CommandModule } from "yargs";
import type { GlobalArgs } from "../../args.ts";
import { debugActorsCommand } from "./actors.ts";
import { debugCrashCommand } from "./crash.ts";
import { debugEventsCommand } from "./events.ts";
import { debugStatechartCommand } from "./statechart.ts";

export const debugCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "debug <command>",
  describe: "tools for debugging the actors",
  builder: (y) => y.command(debugCrashCommand).command(debugStatechartCommand).command(debugActorsCommand).command(debugEventsCommand).demandCommand(1),
  handler: () => {},
};
