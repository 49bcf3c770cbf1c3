import type { CommandModule } from "yargs";
import { devStatus, resolveDevDataDir } from "../../../runtime/dev.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";
import { dataDirOption, type DevArgs } from "./up.ts";

/** `ployzctl dev status`: is the dev daemon running and answering? Exits 1 when it is not. */
export const devStatusCommand: CommandModule<GlobalArgs, DevArgs> = {
  command: "status",
  describe: "is the dev cluster running?",
  builder: (y) => dataDirOption(y),
  handler: async (args) => {
    const status = await devStatus({ dataDir: resolveDevDataDir(process.env, args["data-dir"]), env: process.env });
    const healthy = status.running && status.ping?.ok === true;
    if (args.json) printJson(status);
    else if (!status.running) printLines(`ployzd is not running (data ${status.dataDir}); start it with \`ployzctl dev up\``);
    else if (status.ping?.ok)
      printLines(`ployzd running: machine ${status.ping.machine}, pid ${status.pid}, answered in ${status.ping.latencyMs} ms`, `  data ${status.dataDir}`, `  NATS ${status.info?.servers.join(", ")}`);
    else printLines(`ployzd (pid ${status.pid}) is running but does not answer: ${status.ping?.ok === false ? status.ping.error : "not ready yet"}`);
    if (!healthy) process.exitCode = 1;
  },
};
