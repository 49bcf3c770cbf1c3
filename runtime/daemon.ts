import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import { ConfigError, DaemonStartError, toErrorPayload } from "../model/errors.ts";
import type { MachineRecord } from "../model/machine.ts";
import { replicasFor } from "../model/store-layout.ts";
import type { ClientInfo } from "./client-info.ts";
import { createDocker, dockerSocketPath } from "./docker.ts";
import { machineHostPathRules } from "./host-paths.ts";
import { faultsFrom, NO_FAULTS } from "../actors/faults.ts";
import { dnsAddressAtStart } from "../actors/dns/dns-address.ts";
import { dnsTtlSeconds } from "../model/dns-zone.ts";
import { ensureWritableDir, writeFileAtomic } from "./files.ts";
import { loadOrCreateIdentity } from "./keys.ts";
import { createFileLogger, type Logger } from "./logger.ts";
import { localOperatorName } from "../model/credentials.ts";
import { inboxPrefix } from "../model/roles.ts";
import { natsAccess } from "./nats/access.ts";
import { renderNatsConfig } from "./nats/config.ts";
import { connectNats } from "./nats/connect.ts";
import { startNatsServer, stopOrphanNatsServer, type NatsServerHandle } from "./nats/server.ts";
import { startOrAdoptCaddy } from "./caddy.ts";
import { startOrAdoptDns } from "./dns-process.ts";
import { superviseProcess } from "./supervised-process.ts";
import { loadOrCreateNodeConfig, nodeConfigSchema, saveNodeConfig, type NodeConfig } from "./node-config.ts";
import { startNodeSystem, type NodeSystem } from "./node-system.ts";
import { dataPaths, PLOYZD_SCRIPT } from "./paths.ts";
import { assertPortFree, freePort, isAlive } from "./process.ts";
import { declareStore } from "./store.ts";
import { createNodeMetrics } from "./metrics.ts";
import { startMetricsServer } from "./metrics-server.ts";
import { VERSION } from "./version.ts";

export interface DaemonOptions {
  dataDir: string;
  machineId?: string;
  region?: string;
  zone?: string;
  natsPort?: number;
  /** Gateway HTTP port on first start (0 or absent: a free one). */
  gatewayPort?: number;
  /** Gateway HTTPS port on first start (0 or absent: a free one). */
  gatewayHttpsPort?: number;
  /** Where to order certificates for `tls: acme` routes; saved in machine.json, used until changed. */
  acme?: { directory: string; caFile?: string; email?: string };
  /** The metrics listener's port, saved in machine.json (changed when given again); 0 turns it off; absent on first start: a free one, like the other ports. */
  metricsPort?: number;
  /** Cluster DNS port on first start (default 53, so containers can use it; 0: a free one). */
  dnsPort?: number;
  faultInjection: boolean;
  /** How often each namespace is reconciled without being poked (default 30 s). */
  reconcileIntervalMs?: number;
  /** How long a replaced instance keeps serving after the gateways route to its successor (default 500 ms). */
  drainMs?: number;
  /** The script that runs ployzd (default bin/ployzd.js): the DNS process is `ployzd dns`. */
  ployzdScript?: string;
  /** `--inspect`: the Stately inspector bridge to forward inspection events to. */
  inspectUrl?: string;
  /** `--no-inspector`: no actor snapshots on `ployz.actors.<id>` (to measure what they cost). */
  inspector?: boolean;
  env: NodeJS.ProcessEnv;
}

/** How long a replaced instance keeps serving by default. */
export const DEFAULT_DRAIN_MS = 500;

/** A started daemon; `stopped` resolves with the exit code once it has shut down. */
export interface RunningDaemon {
  machineId: string;
  stop(): Promise<void>;
  stopped: Promise<number>;
}

/**
 * `ployzd run`: start this machine's nats-server, declare the store, register membership, run the
 * node supervisor. A start-up failure is written to `<data>/startup-error.json` for `dev up`.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const paths = dataPaths(options.dataDir);
  const cleanup: Array<() => Promise<void> | void> = [];
  let log: Logger | undefined;
  try {
    ensureWritableDir(paths.dataDir);
    rmSync(paths.startupError, { force: true });
    claimPidFile(paths.daemonPid);
    cleanup.push(() => rmSync(paths.daemonPid, { force: true }));
    log = createFileLogger(paths.daemonLog, { pid: process.pid });

    const config = await loadOrCreateNodeConfig(paths, {
      ...(options.machineId ? { machineId: options.machineId } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.zone ? { zone: options.zone } : {}),
      natsPort: async () => options.natsPort ?? (await freePort("127.0.0.1")),
    });
    log = log.child({ machine: config.machineId });
    log.info({ version: VERSION, dataDir: paths.dataDir }, "ployzd starting");
    const docker = createDocker(options.env);
    const dns = await dnsAddressAtStart(docker, config.dns, options.dnsPort, log); // the bridge may have appeared or moved since
    if (!config.gateway || config.dns?.host !== dns.host || config.dns.port !== dns.port) {
      config.gateway ??= { host: "127.0.0.1", httpPort: options.gatewayPort || (await freePort("127.0.0.1")), adminPort: await freePort("127.0.0.1") };
      config.dns = dns;
      saveNodeConfig(paths, config);
    }
    if (config.gateway.httpsPort === undefined) {
      const taken = [config.gateway.httpPort, config.gateway.adminPort];
      let port = options.gatewayHttpsPort || (await freePort("127.0.0.1"));
      while (taken.includes(port)) port = await freePort("127.0.0.1");
      config.gateway.httpsPort = port;
      saveNodeConfig(paths, config);
    }
    if (!config.metrics || (options.metricsPort !== undefined && options.metricsPort !== config.metrics.port)) {
      config.metrics = { host: "127.0.0.1", port: options.metricsPort ?? (await freePort("127.0.0.1")) };
      saveNodeConfig(paths, config);
    }
    if (options.acme) {
      const acme = acmeSettings(options.acme);
      if (JSON.stringify(acme) !== JSON.stringify(config.acme)) {
        config.acme = acme;
        saveNodeConfig(paths, config);
        log.info({ directory: acme.directory }, "acme settings saved");
      }
    }
    const machineKey = loadOrCreateIdentity(paths.machineSeed);
    const operatorKey = loadOrCreateIdentity(paths.operatorSeed);

    const orphan = await stopOrphanNatsServer(paths.natsPid, paths.natsConfig);
    if (orphan) log.warn({ pid: orphan }, "stopped a nats-server left behind by an earlier ployzd");
    // Who nats-server admits: this machine, its local operator, and the credentials in force (model/roles.ts).
    let natsPid: () => number | undefined = () => undefined;
    const access = natsAccess({
      configFile: paths.natsConfig,
      cacheFile: paths.natsAdmission,
      logFile: paths.natsLog,
      base: [
        { nkey: machineKey.publicKey, role: "machine", name: config.machineId },
        { nkey: operatorKey.publicKey, role: "operator", name: localOperatorName(config.machineId) },
      ],
      render: (identities) =>
        renderNatsConfig({
          machineId: config.machineId,
          storage: config.storage,
          clientHost: config.nats.host,
          clientPort: config.nats.clientPort,
          storeDir: paths.natsStore,
          pidFile: paths.natsPid,
          identities,
          members: [],
        }),
      pid: () => natsPid(),
      log,
    });
    access.writeInitial();
    cleanup.push(() => access.stop());
    // nats-server and Caddy are supervised: an exit starts them again (after a backoff); a crash loop stops ployzd, loudly.
    let fatal: ((reason: string) => void) | undefined;
    let node: NodeSystem | undefined;
    const natsProcess = superviseProcess({
      name: "nats-server",
      start: () => startNatsServer({ configFile: paths.natsConfig, pidFile: paths.natsPid, logFile: paths.natsLog, host: config.nats.host, port: config.nats.clientPort, env: options.env }),
      log,
      onFailed: (error) => fatal?.(`nats-server keeps exiting: ${error}`),
    });
    const nats: NatsServerHandle = await natsProcess.first;
    natsPid = () => natsProcess.current()?.pid;
    cleanup.push(async () => {
      await natsProcess.stop();
      rmSync(paths.natsPid, { force: true });
    });
    log.info({ natsPid: nats.pid, url: nats.url }, "nats-server ready");

    mkdirSync(paths.caddyDir, { recursive: true, mode: 0o700 });
    const gateway = config.gateway;
    const httpsPort = gateway.httpsPort!;
    const httpsAddress = `${gateway.host}:${httpsPort}`;
    const caddyOptions = {
      configFile: paths.caddyConfig,
      pidFile: paths.caddyPid,
      logFile: paths.caddyLog,
      home: paths.caddyDir,
      adminSocket: paths.caddyAdminSocket,
      httpHost: config.gateway.host,
      httpPort: config.gateway.httpPort,
    };
    const caddyProcess = superviseProcess({
      name: "caddy",
      start: async () => {
        const handle = await startOrAdoptCaddy(caddyOptions);
        // Caddy starts with HTTP only; the gateway's first config opens HTTPS, so check it now.
        if (!handle.adopted) await assertPortFree(gateway.host, httpsPort, "the gateway's HTTPS listener");
        return handle;
      },
      log,
      // A new Caddy has no routes: the gateway starts afresh and loads them.
      onRestarted: () => node?.refresh("gateway", "caddy was started again"),
      onFailed: (error) => fatal?.(`caddy keeps exiting: ${error}`),
    });
    const caddy = await caddyProcess.first;
    let started = false;
    // Caddy outlives ployzd on purpose: the gateway serves through a restart. `dev down` stops it.
    cleanup.push(() => caddyProcess.stop({ leaveRunning: started || caddy.adopted }));
    log.info({ caddyPid: caddy.pid, gateway: caddy.httpAddress, adopted: caddy.adopted }, caddy.adopted ? "caddy adopted: it kept serving" : "caddy ready");

    const nc: NatsConnection = await connectNats({
      servers: [nats.url],
      seed: machineKey.seed,
      name: `ployzd ${config.machineId}`,
      inboxPrefix: inboxPrefix({ role: "machine", name: config.machineId }),
      reconnect: true,
      pingIntervalMs: 2_000,
    });
    cleanup.push(async () => {
      // Drain flushes what is pending; with the server already gone it would wait forever.
      const drained = nc.drain().then(() => true, () => false);
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref());
      if (!(await Promise.race([drained, timedOut]))) await nc.close();
    });
    const storeLog = log;
    const store = await declareStore(nc, {
      replicas: replicasFor(config.storage ? 1 : 0),
      declaredBy: config.machineId,
      notice: (message) => storeLog.warn(message),
    });

    // The DNS outlives ployzd like Caddy: containers and the gateway's upstreams resolve through a restart.
    mkdirSync(paths.dnsDir, { recursive: true, mode: 0o700 });
    const upstream = hostResolver(log);
    const dnsProcess = superviseProcess({
      name: "dns",
      start: () =>
        startOrAdoptDns({
          config: {
            host: config.dns!.host,
            port: config.dns!.port,
            ...(upstream ? { upstream } : {}),
            ttl: dnsTtlSeconds(options.drainMs ?? DEFAULT_DRAIN_MS),
            clusterId: store.clusterId,
            controlSocket: paths.dnsControlSocket,
            zoneFile: paths.dnsZone,
            logFile: paths.daemonLog,
          },
          configFile: paths.dnsConfig,
          pidFile: paths.dnsPid,
          ployzdScript: options.ployzdScript ?? PLOYZD_SCRIPT,
          outFile: paths.dnsOut,
        }),
      log,
      // A new DNS process answers from its zone file: the consumer starts afresh and sends the projection.
      onRestarted: () => node?.refresh("dns", "the DNS process was started again"),
      onFailed: (error) => fatal?.(`the DNS process keeps exiting: ${error}`),
    });
    const dnsHandle = await dnsProcess.first;
    cleanup.push(() => dnsProcess.stop({ leaveRunning: started || dnsHandle.adopted }));
    log.info({ dnsPid: dnsHandle.pid, dns: `${config.dns.host}:${config.dns.port}`, adopted: dnsHandle.adopted }, dnsHandle.adopted ? "the DNS process adopted: it kept answering" : "the DNS process ready");

    const now = new Date().toISOString();
    const record: MachineRecord = {
      id: config.machineId,
      name: config.name,
      region: config.region,
      ...(config.zone ? { zone: config.zone } : {}),
      storage: config.storage,
      state: "active",
      natsUser: machineKey.publicKey,
      joinedAt: now,
      updatedAt: now,
    };
    // Loaded only with --inspect: the WebSocket client stays out of every other start.
    const stately = options.inspectUrl ? (await import("./stately-inspect.ts")).startStatelyInspect(options.inspectUrl) : undefined;
    if (stately) {
      log.info({ url: stately.url }, "forwarding XState inspection to the Stately inspector");
      cleanup.push(() => stately.stop());
    }
    const metrics = createNodeMetrics(config.machineId);
    node = startNodeSystem({
      nc,
      store,
      docker,
      gateway: {
        admin: caddy.admin,
        listen: { admin: caddy.admin.listen, http: caddy.httpAddress, https: httpsAddress, dns: `${config.dns.host}:${config.dns.port}` },
        ...(config.acme ? { acme: config.acme } : {}),
      },
      dns: { host: config.dns.host, port: config.dns.port, control: dnsHandle.control },
      access,
      record,
      dataDir: paths.dataDir,
      hostPaths: machineHostPathRules(paths.dataDir, dockerSocketPath(options.env)),
      version: VERSION,
      log,
      faultInjection: options.faultInjection,
      faults: options.faultInjection ? faultsFrom(options.env.PLOYZ_FAULTS, (point, action) => log?.warn({ point, action }, "fault injected")) : NO_FAULTS,
      drainMs: options.drainMs ?? DEFAULT_DRAIN_MS,
      reconcileIntervalMs: options.reconcileIntervalMs ?? 30_000,
      ...(stately ? { inspect: stately.inspect } : {}),
      ...(options.inspector === false ? { inspector: false } : {}),
      metrics,
    });
    const running = node;
    cleanup.push(() => running.stop());
    await running.ready;
    let metricsUrl: string | undefined;
    if (config.metrics.port !== 0) {
      const server = await startMetricsServer({ host: config.metrics.host, port: config.metrics.port, registry: metrics.registry, caddyMetrics: () => caddy.admin.metrics(), log });
      cleanup.push(() => server.close());
      metricsUrl = server.url;
      log.info({ url: `${server.url}/metrics` }, "serving metrics");
    }

    const info: ClientInfo = {
      machineId: config.machineId,
      servers: [nats.url],
      seedFile: paths.operatorSeed,
      dataDir: paths.dataDir,
      pid: process.pid,
      version: VERSION,
      readyAt: new Date().toISOString(),
      gateway: `http://${caddy.httpAddress}`,
      gatewayHttps: `https://${httpsAddress}`,
      dns: `${config.dns.host}:${config.dns.port}`,
      ...(metricsUrl ? { metrics: metricsUrl } : {}),
    };
    writeFileAtomic(paths.clientInfo, `${JSON.stringify(info, null, 2)}\n`, 0o600);
    cleanup.push(() => rmSync(paths.clientInfo, { force: true }));
    log.info({ children: running.children().map((c) => c.name) }, "ployzd ready");
    started = true;

    let resolveStopped!: (code: number) => void;
    const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
    let stopping: Promise<void> | undefined;
    const stop = (code = 0) =>
      (stopping ??= (async () => {
        log?.info("ployzd stopping");
        await runCleanup(cleanup, log);
        log?.info("ployzd stopped");
        resolveStopped(code);
      })());
    fatal = (reason) => {
      if (stopping) return;
      log?.fatal({ reason }, "stopping ployzd");
      void stop(1);
    };
    return { machineId: config.machineId, stop: () => stop(0), stopped };
  } catch (error) {
    log?.error({ err: error }, "ployzd could not start");
    try {
      writeFileSync(paths.startupError, JSON.stringify(toErrorPayload(error)), { mode: 0o600 });
    } catch {
      // the data directory itself may be what failed
    }
    await runCleanup(cleanup, log);
    throw error;
  }
}

/** The ACME settings to keep in machine.json, with the CA file's PEM read in (the file may go away). */
function acmeSettings(options: NonNullable<DaemonOptions["acme"]>): NonNullable<NodeConfig["acme"]> {
  let caPem: string | undefined;
  if (options.caFile) {
    try {
      caPem = readFileSync(options.caFile, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read the ACME CA file ${options.caFile}: ${error instanceof Error ? error.message : String(error)}`, { hint: "give --acme-ca a PEM file", cause: error });
    }
    if (!caPem.includes("-----BEGIN CERTIFICATE-----")) throw new ConfigError(`the ACME CA file ${options.caFile} holds no PEM certificate`, { hint: "give --acme-ca a PEM file" });
  }
  const settings = nodeConfigSchema.shape.acme.safeParse({ directory: options.directory, ...(caPem ? { caPem } : {}), ...(options.email ? { email: options.email } : {}) });
  if (!settings.success || !settings.data) {
    const issue = settings.error?.issues[0];
    throw new ConfigError(`invalid ACME setting ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "missing"}`, {
      hint: "--acme-directory takes the directory URL (e.g. https://acme-v02.api.letsencrypt.org/directory), --acme-email an email address",
    });
  }
  return settings.data;
}

async function runCleanup(cleanup: Array<() => Promise<void> | void>, log: Logger | undefined): Promise<void> {
  while (cleanup.length) {
    const step = cleanup.pop()!;
    try {
      await step();
    } catch (error) {
      log?.error({ err: error }, "clean-up step failed");
    }
  }
}

/** One ployzd per data directory: refuses to start when another live one holds the pid file. */
function claimPidFile(pidFile: string): void {
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8").trim(), 10);
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid) && isPloyzd(pid)) {
      throw new DaemonStartError(`another ployzd (pid ${pid}) already runs with this data directory`, {
        hint: "stop it first (`ployzctl dev down`), or use another --data-dir",
      });
    }
  }
  writeFileAtomic(pidFile, `${process.pid}\n`, 0o644);
}

function isPloyzd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("ployzd");
  } catch {
    return false;
  }
}

/** The first nameserver of /etc/resolv.conf, for names outside the cluster zone; none is said in the log. */
function hostResolver(log: Logger): { host: string; port: number } | undefined {
  let text: string;
  try {
    text = readFileSync("/etc/resolv.conf", "utf8");
  } catch (error) {
    log.warn({ err: error }, "cannot read /etc/resolv.conf: the cluster DNS answers only *.ployz.internal (other names REFUSED)");
    return undefined;
  }
  const host = text.split("\n").find((l) => /^\s*nameserver\s+/.test(l))?.trim().split(/\s+/)[1];
  if (!host) log.warn("/etc/resolv.conf names no nameserver: the cluster DNS answers only *.ployz.internal (other names REFUSED)");
  return host ? { host, port: 53 } : undefined;
}
