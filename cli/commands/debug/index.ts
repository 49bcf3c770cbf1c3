import type { CommandBody, GlobalArgs } from "../../args.ts";
import { debugActorsCommand } from "./actors.ts";
import { debugCrashCommand } from "./crash.ts";
import { debugEventsCommand } from "./events.ts";
import { debugStatechartCommand } from "./statechart.ts";

export const debugCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(debugCrashCommand).command(debugStatechartCommand).command(debugActorsCommand).command(debugEventsCommand).demandCommand(1),
  handler: () => {},
};
