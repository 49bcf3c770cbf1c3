import type { Argv, CommandModule } from "yargs";
import { parseLabRegions } from "../../../model/lab-regions.ts";
import { devUp, resolveDevDataDir } from "../../../runtime/dev.ts";
import { devLabUp } from "../../../runtime/dev-lab.ts";
import { formatDevLab } from "./format-lab.ts";
import { InvalidArgumentError } from "../../../model/errors.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

export interface DevArgs extends GlobalArgs {
  "data-dir": string | undefined;
}

export const dataDirOption = <T>(y: Argv<T>) =>
  y.option("data-dir", { type: "string", describe: "the dev machine's data directory (default ~/.local/share/ployz/dev)" });

interface UpArgs extends DevArgs {
  machines: number | undefined;
  regions: string | undefined;
  "fault-injection": boolean;
  "dns-port": number | undefined;
}

/** `ployzctl dev up`: a one-machine cluster on this computer. */
export const devUpCommand: CommandModule<GlobalArgs, UpArgs> = {
  command: "up",
  describe: "start a one-machine Ployz cluster on this computer, or a lab of N machines (--machines; idempotent)",
  builder: (y) =>
    dataDirOption(y)
      .option("machines", { type: "number", describe: "a lab of N machines, each a network namespace with its own dockerd, WireGuard, nats-server and ployzd (root); contexts dev-1 … dev-N" })
      .option("regions", { type: "string", describe: "with --machines: regions given to the machines in turn, each with an optional role (eu:home_data,us:compute)" })
      .option("fault-injection", { type: "boolean", default: false, describe: "allow `debug crash` (tests)" })
      .option("dns-port", { type: "number", describe: "cluster DNS port on first start (default 53; 0: a free one, when another cluster on this computer has 53)" }),
  handler: async (args) => {
    if (args.machines !== undefined) {
      const { started, lab } = await devLabUp({ machines: args.machines, regions: parseLabRegions(args.regions), env: process.env });
      if (args.json) return printJson({ type: "dev-lab", started, ...lab });
      return printLines(`${started ? "started" : "already up:"} lab ${lab.id} of ${lab.machines.length} machine${lab.machines.length === 1 ? "" : "s"} (${lab.dir})`, ...formatDevLab(lab));
    }
    if (args.regions !== undefined) throw new InvalidArgumentError("--regions goes with --machines N (a lab)");
    const result = await devUp({
      dataDir: resolveDevDataDir(process.env, args["data-dir"]),
      env: process.env,
      extraArgs: [...(args["fault-injection"] ? ["--fault-injection"] : []), ...(args["dns-port"] !== undefined ? ["--dns-port", String(args["dns-port"])] : [])],
    });
    if (args.json) return printJson(result);
    printLines(
      `${result.started ? "started" : "already running:"} ployzd for machine ${result.info.machineId} (pid ${result.info.pid})`,
      `  NATS     ${result.info.servers.join(", ")}`,
      `  gateway  ${result.info.gateway ?? "-"}  (curl -H 'Host: <route hostname>' …)`,
      `  DNS      ${result.info.dns ?? "-"}  (*.ployz.internal)`,
      `  metrics  ${result.info.metrics ? `${result.info.metrics}/metrics` : "off"}  (Prometheus; /metrics/caddy: the gateway's)`,
      `  data     ${result.info.dataDir}`,
      `  context  ${result.context.name} (${result.contextFile})`,
    );
  },
};
