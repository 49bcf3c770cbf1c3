import type { CommandModule } from "yargs";
import { devStatus, resolveDevDataDir } from "../../../runtime/dev.ts";
import { devLabStatus } from "../../../runtime/dev-lab.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";
import { formatDevLab } from "./format-lab.ts";
import { dataDirOption, type DevArgs } from "./up.ts";

/**
 * `ployzctl dev status`: is the dev daemon running and answering, and the lab's machines if there
 * is a lab. Exits 1 when the dev daemon is not healthy (without a lab) or a lab machine's ployzd is down.
 */
export const devStatusCommand: CommandModule<GlobalArgs, DevArgs> = {
  command: "status",
  describe: "is the dev cluster running? (and the lab's machines, if there is a lab)",
  builder: (y) => dataDirOption(y),
  handler: async (args) => {
    const status = await devStatus({ dataDir: resolveDevDataDir(process.env, args["data-dir"]), env: process.env });
    const lab = devLabStatus(process.env);
    const healthy = lab ? lab.machines.every((m) => m.pid !== undefined) : status.running && status.ping?.ok === true;
    if (args.json) printJson(lab ? { ...status, lab } : status);
    else {
      if (!status.running) printLines(`ployzd is not running (data ${status.dataDir})${lab ? "" : "; start it with `ployzctl dev up`"}`);
      else if (status.ping?.ok)
        printLines(`ployzd running: machine ${status.ping.machine}, pid ${status.pid}, answered in ${status.ping.latencyMs} ms`, `  data ${status.dataDir}`, `  NATS ${status.info?.servers.join(", ")}`);
      else printLines(`ployzd (pid ${status.pid}) is running but does not answer: ${status.ping?.ok === false ? status.ping.error : "not ready yet"}`);
      if (lab) printLines("", `lab ${lab.id} (${lab.dir}):`, ...formatDevLab(lab));
    }
    if (!healthy) process.exitCode = 1;
  },
};
