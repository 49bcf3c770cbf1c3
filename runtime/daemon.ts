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
import { loadOrCreateIdentity, loadOrCreateSecret, readSecret } from "./keys.ts";
import { localCommands } from "../actors/host/commands.ts";
import { loadOrCreateWireGuardKey } from "../actors/mesh/wireguard-keys.ts";
import { assertInterfaceName, ensureWireGuardInterface, type WireGuardConfig } from "../actors/mesh/wireguard-interface.ts";
import { applyWireGuardPeers } from "../actors/mesh/wireguard-peers.ts";
import { claimWorkloadSubnet, leafSecret } from "../actors/store/mesh.ts";
import { leafLogins, leafUser } from "../model/leaf-credentials.ts";
import { overlayAddress } from "../model/overlay-address.ts";
import { parseEndpoint, planPeers } from "../model/wireguard-peers.ts";
import { workloadGateway } from "../model/workload-subnet.ts";
import { ensureWorkloadBridge } from "../actors/docker/workload-network.ts";
import type { SupervisedProcess } from "./supervised-process.ts";
import { createFileLogger, type Logger } from "./logger.ts";
import { localOperatorName } from "../model/credentials.ts";
import { inboxPrefix } from "../model/roles.ts";
import { natsAccess } from "./nats/access.ts";
import { isWildcard, renderNatsConfig } from "./nats/config.ts";
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
  /** This machine's WireGuard endpoint on the underlay (`host:port`): switches the mesh on (saved in machine.json). */
  endpoint?: string;
  /** The WireGuard interface's name (default `ployz0`; unique per computer: the lab gives each machine its own). */
  wireguardInterface?: string;
  /** Where the join listener binds (default: the endpoint's host; `0.0.0.0` only when asked). */
  joinListen?: string;
  /** The workload subnet to claim at first start (e.g. the one dockerd's `--bip` already put docker0 on). */
  subnet?: string;
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

    const meshOption = options.endpoint ? meshSettings(options.endpoint, options.wireguardInterface, options.joinListen) : undefined;
    const config = await loadOrCreateNodeConfig(paths, {
      ...(options.machineId ? { machineId: options.machineId } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.zone ? { zone: options.zone } : {}),
      natsPort: async () => options.natsPort ?? (await freePort("127.0.0.1")),
      ...(meshOption ? { mesh: meshOption } : {}),
      ...(options.subnet ? { wantedSubnet: options.subnet } : {}),
    });
    if (meshOption && !config.mesh) {
      config.mesh = meshOption; // the mesh switched on for a machine that ran without one
      saveNodeConfig(paths, config);
    }
    log = log.child({ machine: config.machineId });
    log.info({ version: VERSION, dataDir: paths.dataDir }, "ployzd starting");
    const docker = createDocker(options.env);
    if (!config.gateway) {
      config.gateway = { host: "127.0.0.1", httpPort: options.gatewayPort || (await freePort("127.0.0.1")), adminPort: await freePort("127.0.0.1") };
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
    // Identity on the mesh: the WireGuard key (0600) and the overlay address derived from it.
    const wireguardKey = loadOrCreateWireGuardKey(paths.wireguardKey);
    const overlayIp = overlayAddress(wireguardKey);
    const mesh = config.mesh;
    const hostCommands = localCommands();
    const wireguardConfig = (subnet: string | undefined): WireGuardConfig | undefined =>
      mesh && {
        name: mesh.interface,
        privateKeyFile: paths.wireguardKey,
        listenPort: mesh.listenPort,
        logFile: paths.wireguardLog,
        ...(subnet && config.dns?.host === workloadGateway(subnet) ? { workloadAddress: workloadGateway(subnet) } : {}),
      };
    if (mesh) {
      // Before nats-server: its leaf listener binds the overlay address, and a leaf reaches its hubs through the mesh.
      const iface = await ensureWireGuardInterface(hostCommands, wireguardConfig(config.subnet)!);
      log.info({ interface: iface.name, implementation: iface.implementation, overlayIp: iface.overlayIp }, "WireGuard interface ready");
      if (config.joined) {
        const { peers } = planPeers(config.joined.hubs, { machineId: config.machineId, publicKey: wireguardKey, ...(config.subnet ? { subnet: config.subnet } : {}) });
        await applyWireGuardPeers(hostCommands, { interface: iface, diff: { added: peers, changed: [], removed: [] }, peers });
        log.info({ hubs: peers.map((p) => p.machineId) }, "WireGuard peers of the storage machines this machine joined through");
      }
    }
    // Storage machines: a system account admin, and the cluster's leaf secret (its leaves' passwords derive from it).
    const sysAdminPassword = config.storage ? loadOrCreateSecret(paths.sysAdminPassword) : undefined;
    let currentLeafSecret = config.storage ? loadOrCreateSecret(paths.leafSecret) : undefined;
    const ownLeafPassword = config.storage ? undefined : readSecret(paths.leafPassword);
    if (!config.storage && !ownLeafPassword) {
      throw new ConfigError(`machine ${config.machineId} has no storage and no leaf password (${paths.leafPassword})`, { hint: "a machine without storage joins with `ployzd join TOKEN`" });
    }

    const orphan = await stopOrphanNatsServer(paths.natsPid, paths.natsConfig);
    if (orphan) log.warn({ pid: orphan }, "stopped a nats-server left behind by an earlier ployzd");
    // Who nats-server admits: this machine, its local operator, and the credentials in force (model/roles.ts).
    let natsPid: () => number | undefined = () => undefined;
    let natsProcess: SupervisedProcess<NatsServerHandle>;
    const access = natsAccess({
      configFile: paths.natsConfig,
      cacheFile: paths.natsAdmission,
      logFile: paths.natsLog,
      base: [
        { nkey: machineKey.publicKey, role: "machine", name: config.machineId },
        { nkey: operatorKey.publicKey, role: "operator", name: localOperatorName(config.machineId) },
      ],
      render: (identities, members) =>
        renderNatsConfig({
          machineId: config.machineId,
          storage: config.storage,
          clientHost: config.nats.host,
          clientPort: config.nats.clientPort,
          storeDir: paths.natsStore,
          pidFile: paths.natsPid,
          identities,
          members,
          ...(mesh ? { overlayIp } : {}),
          ...(currentLeafSecret ? { leafLogins: leafLogins(currentLeafSecret, members) } : {}),
          ...(sysAdminPassword ? { sysAdminPassword } : {}),
          ...(ownLeafPassword ? { leafLogin: { user: leafUser(config.machineId), password: ownLeafPassword } } : {}),
          ...(config.joined ? { joinedHubs: config.joined.hubs } : {}),
        }),
      pid: () => natsPid(),
      restart: async (reason) => {
        await natsProcess.restart(reason);
      },
      log,
    });
    access.writeInitial();
    cleanup.push(() => access.stop());
    // nats-server and Caddy are supervised: an exit starts them again (after a backoff); a crash loop stops ployzd, loudly.
    let fatal: ((reason: string) => void) | undefined;
    let node: NodeSystem | undefined;
    // eslint-disable-next-line prefer-const -- access (above) restarts it through this binding
    natsProcess = superviseProcess({
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
    if (config.joined && config.joined.cluster !== store.clusterId) {
      throw new ConfigError(`machine ${config.machineId} joined cluster ${config.joined.cluster}, but its store is cluster ${store.clusterId}`, { hint: "its leaf remotes lead elsewhere: join again with a new data directory" });
    }
    // The workload subnet, claimed once (compare-and-set on KV mesh): no two machines hold one.
    if (!config.subnet) {
      config.subnet = await claimWorkloadSubnet(store.kv.mesh, config.machineId, config.wantedSubnet);
      saveNodeConfig(paths, config);
      log.info({ subnet: config.subnet }, "workload subnet claimed");
    }
    // On a mesh, the bridge that holds the workload subnet: docker0 when dockerd was started on it, else the `ployz` network made now.
    const workload = await ensureWorkloadBridge(docker, mesh ? config.subnet : undefined);
    if (mesh) log.info({ subnet: config.subnet, bridge: workload.bridge.interface, network: workload.bridge.network }, `workload bridge: ${workload.how}`);
    const dns = await dnsAddressAtStart(docker, config.dns, options.dnsPort, log, workload.bridge); // the bridge may have appeared or moved since
    if (config.dns?.host !== dns.host || config.dns.port !== dns.port) {
      config.dns = dns;
      saveNodeConfig(paths, config);
    }
    if (config.storage) {
      const shared = await leafSecret(store.kv.mesh, currentLeafSecret);
      if (shared !== currentLeafSecret) {
        writeFileAtomic(paths.leafSecret, `${shared}\n`, 0o600);
        currentLeafSecret = shared;
      }
    }

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
            ...(mesh ? { bridge: workload.bridge } : {}),
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
      ...(mesh && config.storage ? { natsHost: overlayIp } : {}),
      ...(mesh ? { wireguard: { publicKey: wireguardKey, endpoint: mesh.endpoint } } : {}),
      overlayIp,
      subnet: config.subnet,
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
      ...(mesh ? { workloadBridge: workload.bridge } : {}),
      access,
      record,
      ...(mesh
        ? {
            mesh: {
              settings: { machineId: config.machineId, subnet: config.subnet },
              effects: { commands: hostCommands, wireguard: wireguardConfig(config.subnet)!, workloadBridge: workload.bridge.interface },
            },
            join: {
              host: mesh.joinHost,
              port: mesh.listenPort,
              address: joinAddress(mesh),
              wireguardKey,
              leafSecret: () => leafSecret(store.kv.mesh),
              secretsDir: paths.invitesDir,
            },
          }
        : {}),
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

/** The mesh settings `--endpoint HOST:PORT` asks for. */
function meshSettings(endpoint: string, iface: string | undefined, joinListen: string | undefined): NonNullable<NodeConfig["mesh"]> {
  const parsed = parseEndpoint(endpoint);
  if (!parsed) throw new ConfigError(`--endpoint ${endpoint} is not host:port (IPv6 in brackets)`, { hint: "give the address other machines reach this one at on the underlay, e.g. 192.0.2.10:51820" });
  const name = iface ?? "ployz0";
  assertInterfaceName(name);
  return { endpoint, listenPort: parsed.port, interface: name, joinHost: joinListen ?? parsed.host };
}

/** The join listener's address as a token carries it. */
function joinAddress(mesh: NonNullable<NodeConfig["mesh"]>): string {
  const advertised = parseEndpoint(mesh.endpoint)!;
  const host = isWildcard(mesh.joinHost) ? advertised.host : mesh.joinHost;
  return `${host.includes(":") ? `[${host}]` : host}:${mesh.listenPort}`;
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
