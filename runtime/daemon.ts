import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import { DaemonStartError, toErrorPayload } from "../model/errors.ts";
import type { MachineRecord } from "../model/machine.ts";
import { replicasFor } from "../model/store-layout.ts";
import type { ClientInfo } from "./client-info.ts";
import { createDocker } from "./docker.ts";
import { ensureWritableDir, writeFileAtomic } from "./files.ts";
import { loadOrCreateIdentity } from "./keys.ts";
import { createFileLogger, type Logger } from "./logger.ts";
import { renderNatsConfig } from "./nats/config.ts";
import { connectNats } from "./nats/connect.ts";
import { startNatsServer, stopOrphanNatsServer, type NatsServerHandle } from "./nats/server.ts";
import { loadOrCreateNodeConfig } from "./node-config.ts";
import { startNodeSystem, type NodeSystem } from "./node-system.ts";
import { dataPaths } from "./paths.ts";
import { freePort, isAlive } from "./process.ts";
import { declareStore } from "./store.ts";
import { VERSION } from "./version.ts";

export interface DaemonOptions {
  dataDir: string;
  machineId?: string;
  region?: string;
  zone?: string;
  natsPort?: number;
  faultInjection: boolean;
  /** How long a replaced instance keeps serving before it is stopped (default 0). */
  drainMs?: number;
  /** `--inspect`: the Stately inspector bridge to forward inspection events to. */
  inspectUrl?: string;
  /** `--no-inspector`: no actor snapshots on `ployz.actors.<id>` (to measure what they cost). */
  inspector?: boolean;
  env: NodeJS.ProcessEnv;
}

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
    const machineKey = loadOrCreateIdentity(paths.machineSeed);
    const operatorKey = loadOrCreateIdentity(paths.operatorSeed);

    const orphan = await stopOrphanNatsServer(paths.natsPid, paths.natsConfig);
    if (orphan) log.warn({ pid: orphan }, "stopped a nats-server left behind by an earlier ployzd");
    const natsConfig = renderNatsConfig({
      machineId: config.machineId,
      storage: config.storage,
      clientHost: config.nats.host,
      clientPort: config.nats.clientPort,
      storeDir: paths.natsStore,
      pidFile: paths.natsPid,
      users: [machineKey.publicKey, operatorKey.publicKey],
      members: [],
    });
    writeFileAtomic(paths.natsConfig, `${JSON.stringify(natsConfig, null, 2)}\n`, 0o600);
    const nats: NatsServerHandle = await startNatsServer({
      configFile: paths.natsConfig,
      pidFile: paths.natsPid,
      logFile: paths.natsLog,
      host: config.nats.host,
      port: config.nats.clientPort,
      env: options.env,
    });
    cleanup.push(async () => {
      await nats.stop();
      rmSync(paths.natsPid, { force: true });
    });
    log.info({ natsPid: nats.pid, url: nats.url }, "nats-server ready");

    const nc: NatsConnection = await connectNats({ servers: [nats.url], seed: machineKey.seed, name: `ployzd ${config.machineId}`, reconnect: true });
    cleanup.push(async () => {
      // Drain flushes what is pending; with the server already gone it would wait forever.
      const drained = nc.drain().then(() => true, () => false);
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref());
      if (!(await Promise.race([drained, timedOut]))) await nc.close();
    });
    const store = await declareStore(nc, { replicas: replicasFor(config.storage ? 1 : 0), declaredBy: config.machineId });

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
    const node: NodeSystem = startNodeSystem({
      nc,
      store,
      docker: createDocker(options.env),
      record,
      dataDir: paths.dataDir,
      version: VERSION,
      log,
      faultInjection: options.faultInjection,
      drainMs: options.drainMs ?? 0,
      ...(stately ? { inspect: stately.inspect } : {}),
      ...(options.inspector === false ? { inspector: false } : {}),
    });
    cleanup.push(() => node.stop());
    await node.ready;

    const info: ClientInfo = {
      machineId: config.machineId,
      servers: [nats.url],
      seedFile: paths.operatorSeed,
      dataDir: paths.dataDir,
      pid: process.pid,
      version: VERSION,
      readyAt: new Date().toISOString(),
    };
    writeFileAtomic(paths.clientInfo, `${JSON.stringify(info, null, 2)}\n`, 0o600);
    cleanup.push(() => rmSync(paths.clientInfo, { force: true }));
    log.info({ children: node.children().map((c) => c.name) }, "ployzd ready");

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
    void nats.exited.then(({ code, signal }) => {
      if (stopping) return;
      log?.fatal({ code, signal }, "nats-server exited unexpectedly; stopping ployzd");
      void stop(1);
    });
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
