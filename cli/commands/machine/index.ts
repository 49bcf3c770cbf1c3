import type { CommandBody, GlobalArgs } from "../../args.ts";
import { machineLsCommand } from "./ls.ts";

export const machineCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(machineLsCommand).demandCommand(1),
  handler: () => {},
};
