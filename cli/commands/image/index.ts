import type { Argv, CommandModule } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../../args.ts";
import { formatBytes, printJson, printLines } from "../../output.ts";

interface PushArgs extends GlobalArgs {
  image: string;
}

const imagePush: CommandModule<GlobalArgs, PushArgs> = {
  command: "push <image>",
  describe: "store a local image in the cluster's image store (no registry needed)",
  builder: (y: Argv<GlobalArgs>) => y.positional("image", { type: "string", demandOption: true }),
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.pushImage(args.image));
    if (args.json) return printJson(reply);
    printLines(`pushed ${reply.image} (${formatBytes(reply.bytes)}) into the cluster image store`);
  },
};

export const imageCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(imagePush).demandCommand(1),
  handler: () => {},
};
