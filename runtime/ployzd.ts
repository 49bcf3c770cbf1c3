import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { PloyzError } from "../model/errors.ts";
import { startDaemon } from "./daemon.ts";
import { defaultDevDataDir } from "./paths.ts";
import { VERSION } from "./version.ts";

/** Where `--inspect` finds the Stately inspector's WebSocket bridge (`@statelyai/inspect/server`) by default. */
const DEFAULT_INSPECT_URL = "ws://127.0.0.1:8080";

/** `ployzd` — the node daemon's command line. */
export async function ployzdMain(argv: string[]): Promise<void> {
  await yargs(hideBin(argv))
    .scriptName("ployzd")
    .version(VERSION)
    .strict()
    .command(
      "run",
      "run this machine's node daemon in the foreground",
      (y) =>
        y
          .option("data-dir", { type: "string", default: defaultDevDataDir(), describe: "where this machine keeps its state" })
          .option("machine-id", { type: "string", describe: "id on first start (default: host name + random suffix)" })
          .option("region", { type: "string", describe: "region on first start (default: local)" })
          .option("zone", { type: "string", describe: "availability zone on first start" })
          .option("nats-port", { type: "number", describe: "NATS client port on first start (default: a free one)" })
          .option("gateway-port", { type: "number", describe: "gateway HTTP port on first start (default: a free one)" })
          .option("gateway-https-port", { type: "number", describe: "gateway HTTPS port on first start (default: a free one)" })
          .option("acme-directory", { type: "string", describe: "ACME directory URL to order certificates for `tls: acme` routes from (kept in machine.json)" })
          .option("acme-ca", { type: "string", describe: "PEM file of a CA to trust for the ACME directory's own HTTPS (e.g. a test server's)" })
          .option("acme-email", { type: "string", describe: "contact address for the ACME account" })
          .implies({ "acme-ca": "acme-directory", "acme-email": "acme-directory" })
          .option("metrics-port", { type: "number", describe: "Prometheus metrics on 127.0.0.1:PORT (/metrics, /metrics/caddy); 0: off (default: a free port on first start; kept in machine.json, e.g. 9469 on a fleet)" })
          .option("dns-port", { type: "number", describe: "cluster DNS port on first start (default 53; 0: a free one)" })
          .option("fault-injection", { type: "boolean", default: false, describe: "allow `ployzctl debug crash` and PLOYZ_FAULTS (tests)" })
          .option("drain-ms", { type: "number", default: 500, describe: "how long a replaced instance keeps serving once routing moved past it" })
          .option("reconcile-interval-ms", { type: "number", default: 30_000, describe: "how often each namespace is reconciled without a commit or container event" })
          .option("inspect", { type: "boolean", default: false, describe: "forward XState inspection to the Stately inspector (browser)" })
          .option("inspect-url", { type: "string", default: DEFAULT_INSPECT_URL, describe: "the Stately inspector's WebSocket bridge, with --inspect" })
          .option("inspector", { type: "boolean", default: true, describe: "publish actor snapshots for `ployz top` (--no-inspector to measure their cost)" }),
      async (args) => {
        // Signals are handled from the first moment: a stop asked for during start-up runs as
        // soon as the daemon is up (a failed start cleans up by itself).
        let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
        let stopRequested = false;
        const onSignal = () => {
          stopRequested = true;
          if (daemon) void daemon.stop();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        try {
          daemon = await startDaemon({
            dataDir: args["data-dir"],
            ...(args["machine-id"] ? { machineId: args["machine-id"] } : {}),
            ...(args.region ? { region: args.region } : {}),
            ...(args.zone ? { zone: args.zone } : {}),
            ...(args["nats-port"] ? { natsPort: args["nats-port"] } : {}),
            ...(args["gateway-port"] !== undefined ? { gatewayPort: args["gateway-port"] } : {}),
            ...(args["dns-port"] !== undefined ? { dnsPort: args["dns-port"] } : {}),
            ...(args["metrics-port"] !== undefined ? { metricsPort: args["metrics-port"] } : {}),
            ...(args["gateway-https-port"] !== undefined ? { gatewayHttpsPort: args["gateway-https-port"] } : {}),
            ...(args["acme-directory"]
              ? { acme: { directory: args["acme-directory"], ...(args["acme-ca"] ? { caFile: args["acme-ca"] } : {}), ...(args["acme-email"] ? { email: args["acme-email"] } : {}) } }
              : {}),
            faultInjection: args["fault-injection"],
            reconcileIntervalMs: args["reconcile-interval-ms"],
            drainMs: args["drain-ms"],
            ...(args.inspect ? { inspectUrl: args["inspect-url"] } : {}),
            ...(args.inspector ? {} : { inspector: false }),
            env: process.env,
          });
        } catch (error) {
          const hint = error instanceof PloyzError && error.hint ? ` (${error.hint})` : "";
          process.stderr.write(`ployzd: ${error instanceof Error ? error.message : String(error)}${hint}\n`);
          process.exit(1);
        }
        process.stdout.write(`ployzd: machine ${daemon.machineId} ready\n`);
        if (stopRequested) void daemon.stop();
        process.exit(await daemon.stopped);
      },
    )
    .command(
      "dns",
      false, // started by `ployzd run`, not by hand
      (y) => y.option("config", { type: "string", demandOption: true, describe: "the DNS process config ployzd wrote" }),
      async (args) => {
        const { dnsProcessMain } = await import("./dns-main.ts");
        try {
          await dnsProcessMain(args.config);
        } catch (error) {
          process.stderr.write(`ployzd dns: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(1);
        }
      },
    )
    .demandCommand(1, "say what to do: `ployzd run`")
    .help()
    .parseAsync();
}
