import type { CommandModule } from "yargs";
import type { GlobalArgs } from "../../args.ts";
import { machineLsCommand } from "./ls.ts";

export const machineCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "machine <command>",
  describe: "the cluster's machines",
  builder: (y) => y.command(machineLsCommand).demandCommand(1),
  handler: () => {},
};
