import type { Argv, CommandModule } from "yargs";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface CrashArgs extends GlobalArgs {
  actor: string;
  machine: string | undefined;
}

/** `ployzctl debug crash ACTOR`: fault injection, for tests (ployzd must run with --fault-injection). */
export const debugCrashCommand: CommandModule<GlobalArgs, CrashArgs> = {
  command: "crash <actor>",
  describe: "make a supervised actor crash (needs ployzd --fault-injection)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("actor", { type: "string", demandOption: true, describe: "participant, api, inspector or meshPeer" })
      .option("machine", { type: "string", describe: "machine id (default: the context's machine)" }),
  handler: async (args) => {
    await withClient(args, async (client) => {
      const machine = args.machine ?? client.context.machineId;
      await client.crash(machine, args.actor);
      if (args.json) printJson({ crashed: args.actor, machine });
      else printLines(`crashed ${args.actor} on ${machine}`);
    });
  },
};
