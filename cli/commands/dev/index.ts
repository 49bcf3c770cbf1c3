import type { CommandBody, GlobalArgs } from "../../args.ts";
import { devDownCommand } from "./down.ts";
import { devLogsCommand } from "./logs.ts";
import { devMachineCommand } from "./machine.ts";
import { devHealCommand, devPartitionCommand } from "./partition.ts";
import { devStatusCommand } from "./status.ts";
import { devUpCommand } from "./up.ts";

export const devCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(devUpCommand).command(devDownCommand).command(devStatusCommand).command(devLogsCommand).command(devMachineCommand).command(devPartitionCommand).command(devHealCommand).demandCommand(1),
  handler: () => {},
};
