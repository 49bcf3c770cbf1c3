import type { Argv, CommandModule } from "yargs";
import { devLabAddMachine } from "../../../runtime/dev-lab.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface AddArgs extends GlobalArgs {
  region: string | undefined;
}

const devMachineAdd: CommandModule<GlobalArgs, AddArgs> = {
  command: "add",
  describe: "add one more lab machine, joined through an invite like a real one",
  builder: (y: Argv<GlobalArgs>) => y.option("region", { type: "string", describe: "its region (default: the lab's regions in turn)" }) as Argv<AddArgs>,
  handler: async (args) => {
    const machine = await devLabAddMachine({ ...(args.region ? { region: args.region } : {}), env: process.env });
    if (args.json) return printJson({ type: "dev-machine-added", ...machine });
    printLines(`added ${machine.name} (region ${machine.region}, netns ${machine.namespace}, underlay ${machine.underlayIp}, gateway ${machine.gateway ?? "-"})`, `  use it with: ployzctl --context ${machine.context} …`);
  },
};

/** `ployzctl dev machine …`: the lab's machines. */
export const devMachineCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "machine <command>",
  describe: "the lab's machines",
  builder: (y) => y.command(devMachineAdd).demandCommand(1),
  handler: () => {},
};

