import type { CommandBody, GlobalArgs } from "../../args.ts";
import { machineInviteCommand } from "./invite.ts";
import { machineLsCommand } from "./ls.ts";

export const machineCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(machineLsCommand).command(machineInviteCommand).demandCommand(1),
  handler: () => {},
};
