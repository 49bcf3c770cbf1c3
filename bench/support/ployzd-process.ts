import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DaemonStartError } from "../../model/errors.ts";
import { clientInfoSchema, type ClientInfo } from "../../runtime/client-info.ts";
import { readJsonFile } from "../../runtime/files.ts";
import { stopLeftServing } from "../../runtime/dev.ts";
import { stopOrphanNatsServer } from "../../runtime/nats/server.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { isAlive, waitForExit } from "../../runtime/process.ts";

const PLOYZD = fileURLToPath(new URL("../../bin/ployzd.js", import.meta.url));

/** Where the start-up time went, from the daemon's own log (millisecond resolution). */
export interface StartPhases {
  /** spawn → "ployzd starting": node, loading the bundle, arguments, the log, machine.json. */
  bootMs: number;
  /** "ployzd starting" → "nats-server ready": config, keys, nats-server start. */
  natsMs: number;
  /** "nats-server ready" → "caddy ready" (or "caddy adopted", the one a previous ployzd left serving): the gateway's Caddy. */
  caddyMs: number;
  /** "caddy ready" → "ployzd ready": NATS connection, store declaration, registration, actor tree. */
  nodeMs: number;
}

/** A ployzd running in the foreground as a child of the benchmark. */
export interface PloyzdProcess {
  pid: number;
  info: ClientInfo;
  natsPid: number;
  /** Spawn → the `ployzd: machine X ready` line (client.json is written just before it). */
  readyMs: number;
  phases: StartPhases | undefined;
  /**
   * SIGTERM, wait for exit; SIGKILL (and the orphaned nats-server) after `timeoutMs`. Then its
   * Caddy and DNS process, which a stopping ployzd leaves serving for the next one to adopt,
   * unless `keepServing`.
   */
  stop(timeoutMs?: number, options?: { keepServing?: boolean }): Promise<StopOutcome>;
}

/** How a ployzd stopped. */
export interface StopOutcome {
  stopMs: number;
  /** Exited with code 0 after its own shutdown (not killed by a signal's default action). */
  clean: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** Needed SIGKILL after the timeout. */
  forced: boolean;
  /** Its nats-server was still running after ployzd had gone (then stopped by us). */
  natsOutlived: boolean;
}

/**
 * Spawns `ployzd run` the way a user does (foreground, `--data-dir`), timing spawn → ready line.
 * Not `devUp`: that polls client.json every 50 ms and pings afterwards, too coarse to time with.
 */
export async function startPloyzd(options: { dataDir: string; machineId: string; env: NodeJS.ProcessEnv; timeoutMs?: number; extraArgs?: string[] }): Promise<PloyzdProcess> {
  const paths = dataPaths(options.dataDir);
  const logOffset = existsSync(paths.daemonLog) ? statSync(paths.daemonLog).size : 0;
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const child = spawn(process.execPath, [PLOYZD, "run", "--data-dir", options.dataDir, "--machine-id", options.machineId, ...(options.extraArgs ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env,
  });
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise<number>((resolve) => {
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (/^ployzd: machine \S+ ready$/m.test(output)) {
        resolve(performance.now() - t0);
        child.stdout.off("data", onData);
      }
    };
    child.stdout.on("data", onData);
  });
  child.stderr.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));

  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then((readyMs) => ({ kind: "ready" as const, readyMs })),
    exited.then((e) => ({ kind: "exit" as const, ...e })),
    new Promise<{ kind: "timeout" }>((resolve) => (timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs))),
  ]);
  clearTimeout(timer);
  const stop = async (stopTimeoutMs = 30_000, stopOptions: { keepServing?: boolean } = {}): Promise<StopOutcome> => {
    const natsPid = readPid(paths.natsPid);
    const started = performance.now();
    let forced = false;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      let kill: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (kill = setTimeout(() => r(false), stopTimeoutMs)))]);
      clearTimeout(kill);
      if (!inTime) {
        forced = true;
        child.kill("SIGKILL");
      }
    }
    const exit = await exited;
    const stopMs = performance.now() - started;
    // ployzd stops its nats-server last; one still alive afterwards is a daemon bug, not ours to keep.
    const natsOutlived = natsPid !== undefined && isAlive(natsPid) && !(await waitForExit(natsPid, 1_000));
    if (natsOutlived) await stopOrphanNatsServer(paths.natsPid, paths.natsConfig);
    if (!stopOptions.keepServing) await stopLeftServing(options.dataDir);
    return { stopMs, clean: exit.code === 0, exit, forced, natsOutlived };
  };
  if (outcome.kind !== "ready") {
    await stop(5_000);
    const why = outcome.kind === "exit" ? `exited (code ${outcome.code ?? outcome.signal})` : `was not ready within ${timeoutMs} ms`;
    throw new DaemonStartError(`ployzd in ${options.dataDir} ${why}: ${output.trim().split("\n").slice(-3).join(" | ")}`, {
      hint: `see ${paths.daemonLog} and ${paths.startupError}`,
    });
  }
  const info = readJsonFile(paths.clientInfo, clientInfoSchema, "client info", "ployzd wrote no client.json");
  const natsPid = readPid(paths.natsPid);
  if (!info || info.pid !== child.pid || natsPid === undefined) {
    await stop(5_000);
    throw new DaemonStartError(`ployzd in ${options.dataDir} said it was ready, but client.json or the nats-server pid file does not match`);
  }
  return { pid: child.pid, info, natsPid, readyMs: outcome.readyMs, phases: readPhases(paths.daemonLog, logOffset, spawnedAt), stop };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The three start-up milestones of this run, from the log lines written after `offset`. */
function readPhases(logFile: string, offset: number, spawnedAt: number): StartPhases | undefined {
  const at: Record<string, number> = {};
  const text = readFileSync(logFile).subarray(offset).toString("utf8");
  for (const line of text.split("\n")) {
    try {
      const entry = JSON.parse(line) as { msg?: string; time?: string };
      if (entry.msg && entry.time && at[entry.msg] === undefined) at[entry.msg] = Date.parse(entry.time);
    } catch {
      // not a log line
    }
  }
  const starting = at["ployzd starting"];
  const natsReady = at["nats-server ready"];
  const caddyReady = at["caddy ready"] ?? at["caddy adopted: it kept serving"];
  const ready = at["ployzd ready"];
  if (starting === undefined || natsReady === undefined || caddyReady === undefined || ready === undefined) return undefined;
  return { bootMs: starting - spawnedAt, natsMs: natsReady - starting, caddyMs: caddyReady - natsReady, nodeMs: ready - caddyReady };
}
