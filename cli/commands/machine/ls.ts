import type { CommandModule } from "yargs";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, table } from "../../output.ts";

/** `ployzctl machine ls`: the membership records (Intent). */
export const machineLsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "ls",
  describe: "list the cluster's machines",
  handler: async (args) => {
    const list = await withClient(args, (client) => client.machines());
    if (args.json) return printJson(list);
    printLines(
      table(
        ["ID", "NAME", "REGION", "ZONE", "STORAGE", "STATE", "JOINED"],
        list.machines.map((m) => [m.id, m.name, m.region, m.zone ?? "-", m.storage ? "yes" : "no", m.state, m.joinedAt]),
      ),
      ...list.invalid.map((bad) => `! invalid record ${bad.key}: ${bad.error}`),
    );
  },
};
