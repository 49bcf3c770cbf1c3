import type { Argv, CommandModule } from "yargs";
import { devLabPartition } from "../../../runtime/dev-lab.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface LinkArgs extends GlobalArgs {
  name: string;
}

function linkCommand(cut: boolean): CommandModule<GlobalArgs, LinkArgs> {
  return {
    command: `${cut ? "partition" : "heal"} <name>`,
    describe: cut ? "cut a lab machine off the underlay: nothing reaches it, nothing leaves it" : "restore a partitioned lab machine's underlay link",
    builder: (y: Argv<GlobalArgs>) => y.positional("name", { type: "string", demandOption: true, describe: "the lab machine (dev-2)" }) as Argv<LinkArgs>,
    handler: async (args) => {
      const machine = await devLabPartition({ name: args.name, cut, env: process.env });
      if (args.json) return printJson({ type: cut ? "dev-partitioned" : "dev-healed", ...machine });
      printLines(cut ? `${machine.name} is cut off the underlay (${machine.underlayIp}); \`ployzctl dev heal ${machine.name}\` restores it` : `${machine.name} is back on the underlay (${machine.underlayIp})`);
    },
  };
}

/** `ployzctl dev partition NAME`. */
export const devPartitionCommand = linkCommand(true);
/** `ployzctl dev heal NAME`. */
export const devHealCommand = linkCommand(false);
