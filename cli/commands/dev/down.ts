import type { CommandModule } from "yargs";
import { devDown, resolveDevDataDir } from "../../../runtime/dev.ts";
import { devLabDown } from "../../../runtime/dev-lab.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";
import { dataDirOption, type DevArgs } from "./up.ts";

/** `ployzctl dev down`: stops the dev daemon (state stays on disk), and removes the lab wholly if there is one. */
export const devDownCommand: CommandModule<GlobalArgs, DevArgs> = {
  command: "down",
  describe: "stop the dev cluster (its state stays on disk); remove the lab (--machines) and everything it made",
  builder: (y) => dataDirOption(y),
  handler: async (args) => {
    const result = await devDown({ dataDir: resolveDevDataDir(process.env, args["data-dir"]) });
    const lab = await devLabDown(process.env);
    if (args.json) return printJson({ ...result, ...(lab ? { lab } : {}) });
    printLines(
      result.wasRunning ? `stopped ployzd (pid ${result.pid})` : "ployzd was not running",
      ...(lab ? [`removed lab ${lab.id} (${lab.dir}): its namespaces, interfaces, processes, dockerds and containers; contexts ${lab.contexts.join(", ") || "-"}`] : []),
    );
  },
};
