import { errorText, InvalidArgumentError, PloyzError } from "../model/errors.ts";
import { RUNNING_FROM } from "./build-info.ts";
import { startDaemon } from "./daemon.ts";
import { defaultDevDataDir } from "./paths.ts";
import { parsePloyzdArgs, type RunArgs } from "./ployzd-args.ts";
import { VERSION } from "./version.ts";

/** `ployzd` — the node daemon's command line (`ployzd run`, `install`, `uninstall`, `version`, `--help`; `ployzd dns`, which `run` starts). */
export async function ployzdMain(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parsePloyzdArgs>;
  try {
    parsed = parsePloyzdArgs(argv.slice(2));
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    process.stderr.write(`ployzd: ${error.message}\n`);
    process.exit(2);
  }
  switch (parsed.command) {
    case "help":
      process.stdout.write(parsed.text);
      return;
    case "version":
      if (parsed.json) process.stdout.write(`${JSON.stringify({ version: VERSION, node: process.version, runningFrom: RUNNING_FROM })}\n`);
      else process.stdout.write(`ployzd ${VERSION} (node ${process.version}, from the ${RUNNING_FROM})\n`);
      return;
    case "run":
      return await run(parsed.args);
    case "install":
    case "uninstall": {
      const { installMain, uninstallMain } = await import("./ployzd-install.ts");
      try {
        process.stdout.write(parsed.command === "install" ? await installMain(parsed.args) : await uninstallMain(parsed.args));
      } catch (error) {
        const hint = error instanceof PloyzError && error.hint ? ` (${error.hint})` : "";
        process.stderr.write(`ployzd ${parsed.command}: ${errorText(error)}${hint}\n`);
        process.exit(1);
      }
      return;
    }
    case "join": {
      const { joinCluster } = await import("./join.ts");
      try {
        const joined = await joinCluster({
          token: parsed.args.token,
          dataDir: parsed.args["data-dir"] ?? defaultDevDataDir(),
          ...(parsed.args.endpoint ? { endpoint: parsed.args.endpoint } : {}),
          ...(parsed.args["wireguard-interface"] ? { wireguardInterface: parsed.args["wireguard-interface"] } : {}),
          ...(parsed.args["machine-id"] ? { machineId: parsed.args["machine-id"] } : {}),
          ...(parsed.args.subnet ? { subnet: parsed.args.subnet } : {}),
        });
        process.stdout.write(
          `joined cluster ${joined.cluster} as machine ${joined.machine.id} (region ${joined.machine.region}${joined.machine.zone ? `, zone ${joined.machine.zone}` : ""}, subnet ${joined.machine.subnet}, overlay ${joined.machine.overlayIp}); start it: ployzd run --data-dir ${joined.dataDir}\n`,
        );
      } catch (error) {
        const hint = error instanceof PloyzError && error.hint ? ` (${error.hint})` : "";
        process.stderr.write(`ployzd join: ${error instanceof Error ? error.message : String(error)}${hint}\n`);
        process.exit(1);
      }
      return;
    }
    case "dns": {
      const { dnsProcessMain } = await import("./dns-main.ts");
      try {
        await dnsProcessMain(parsed.config);
      } catch (error) {
        process.stderr.write(`ployzd dns: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      }
      return;
    }
  }
}

async function run(args: RunArgs): Promise<void> {
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
      dataDir: args["data-dir"] ?? defaultDevDataDir(),
      ...(args["machine-id"] ? { machineId: args["machine-id"] } : {}),
      ...(args.region ? { region: args.region } : {}),
      ...(args.zone ? { zone: args.zone } : {}),
      ...(args["nats-port"] ? { natsPort: args["nats-port"] } : {}),
      ...(args["gateway-port"] !== undefined ? { gatewayPort: args["gateway-port"] } : {}),
      ...(args["dns-port"] !== undefined ? { dnsPort: args["dns-port"] } : {}),
      ...(args.endpoint ? { endpoint: args.endpoint } : {}),
      ...(args["wireguard-interface"] ? { wireguardInterface: args["wireguard-interface"] } : {}),
      ...(args["join-listen"] ? { joinListen: args["join-listen"] } : {}),
      ...(args.subnet ? { subnet: args.subnet } : {}),
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
}
