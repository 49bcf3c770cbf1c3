import type { Argv, CommandModule } from "yargs";
import { devUp, resolveDevDataDir } from "../../../runtime/dev.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

export interface DevArgs extends GlobalArgs {
  "data-dir": string | undefined;
}

export const dataDirOption = <T>(y: Argv<T>) =>
  y.option("data-dir", { type: "string", describe: "the dev machine's data directory (default ~/.local/share/ployz/dev)" });

interface UpArgs extends DevArgs {
  "fault-injection": boolean;
  "dns-port": number | undefined;
}

/** `ployzctl dev up`: a one-machine cluster on this computer. */
export const devUpCommand: CommandModule<GlobalArgs, UpArgs> = {
  command: "up",
  describe: "start a one-machine Ployz cluster on this computer (idempotent)",
  builder: (y) =>
    dataDirOption(y)
      .option("fault-injection", { type: "boolean", default: false, describe: "allow `debug crash` (tests)" })
      .option("dns-port", { type: "number", describe: "cluster DNS port on first start (default 53; 0: a free one, when another cluster on this computer has 53)" }),
  handler: async (args) => {
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
