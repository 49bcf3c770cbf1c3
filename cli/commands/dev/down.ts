import type { CommandModule } from "yargs";
import { devDown, resolveDevDataDir } from "../../../runtime/dev.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";
import { dataDirOption, type DevArgs } from "./up.ts";

/** `ployzctl dev down`: stops the dev daemon (state stays on disk). */
export const devDownCommand: CommandModule<GlobalArgs, DevArgs> = {
  command: "down",
  describe: "stop the dev cluster (its state stays on disk)",
  builder: (y) => dataDirOption(y),
  handler: async (args) => {
    const result = await devDown({ dataDir: resolveDevDataDir(process.env, args["data-dir"]) });
    if (args.json) return printJson(result);
    printLines(result.wasRunning ? `stopped ployzd (pid ${result.pid})` : "ployzd was not running");
  },
};
