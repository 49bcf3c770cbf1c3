import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, watch } from "node:fs";
import { DaemonStartError, errorFromPayload, type ErrorPayload } from "../model/errors.ts";
import { clientInfoSchema, type ClientInfo } from "./client-info.ts";
import { connectClient } from "./client.ts";
import { contextPaths, readContext, writeContext, type Context } from "./context.ts";
import { ensureWritableDir, readJsonFile } from "./files.ts";
import { stopCaddy } from "./caddy.ts";
import { stopDnsProcess } from "./dns-process.ts";
import { dataPaths, defaultDevDataDir, PLOYZD_SCRIPT } from "./paths.ts";
import { isAlive, waitForExit } from "./process.ts";

export const DEV_CONTEXT = "dev";

/**
 * The dev data directory: the flag, else the dev context's, else the default. A dev context that
 * exists but cannot be read is an error, not a reason to start a second machine elsewhere.
 */
export function resolveDevDataDir(env: NodeJS.ProcessEnv, flag?: string): string {
  if (flag) return flag;
  if (!existsSync(contextPaths(env).file(DEV_CONTEXT))) return defaultDevDataDir(env);
  return readContext(env, DEV_CONTEXT).dataDir ?? defaultDevDataDir(env);
}

export interface DevUpResult {
  started: boolean;
  info: ClientInfo;
  context: Context;
  contextFile: string;
}

/**
 * `ployzctl dev up`: starts ployzd for this computer in the background (or finds the one already
 * running), waits until it is ready, and writes the `dev` context.
 */
export async function devUp(options: { dataDir: string; env: NodeJS.ProcessEnv; timeoutMs?: number; extraArgs?: string[] }): Promise<DevUpResult> {
  const paths = dataPaths(options.dataDir);
  ensureWritableDir(paths.dataDir);
  const running = runningInfo(paths.dataDir);
  if (running) return { started: false, info: running, ...saveContext(running, options.env) };

  rmSync(paths.startupError, { force: true });
  rmSync(paths.clientInfo, { force: true });
  mkdirSync(paths.logsDir, { recursive: true, mode: 0o700 });
  const out = openSync(paths.daemonOut, "a", 0o600);
  const child = spawn(process.execPath, [PLOYZD_SCRIPT, "run", "--data-dir", paths.dataDir, ...(options.extraArgs ?? [])], {
    detached: true,
    stdio: ["ignore", out, out],
    env: options.env,
  });
  closeSync(out);
  child.unref();
  let exited: { code: number | null } | undefined;
  child.once("exit", (code) => (exited = { code }));

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const info = readClientInfo(paths.dataDir);
    if (info && info.pid === child.pid) break;
    if (exited) {
      const payload = readJsonFileLoose<ErrorPayload>(paths.startupError);
      if (payload) throw errorFromPayload(payload);
      throw new DaemonStartError(`ployzd exited (code ${exited.code}) before it was ready: ${tail(paths.daemonOut, 3)}`, { hint: `see ${paths.daemonOut}` });
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new DaemonStartError(`ployzd did not become ready within ${options.timeoutMs ?? 30_000} ms`, { hint: `see ${paths.daemonLog}` });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const info = readClientInfo(paths.dataDir)!;
  const saved = saveContext(info, options.env);
  const client = await connectClient(saved.context);
  try {
    await client.ping();
  } finally {
    await client.close();
  }
  return { started: true, info, ...saved };
}

/** `ployzctl dev down`: stops the dev daemon gracefully; a no-op when none runs. */
export async function devDown(options: { dataDir: string; timeoutMs?: number }): Promise<{ wasRunning: boolean; pid?: number }> {
  const paths = dataPaths(options.dataDir);
  const pid = daemonPid(options.dataDir);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    if (!(await waitForExit(pid, options.timeoutMs ?? 30_000))) {
      throw new DaemonStartError(`ployzd (pid ${pid}) did not stop within ${(options.timeoutMs ?? 30_000) / 1000} s`, {
        hint: `see ${paths.daemonLog}; \`kill -9 ${pid}\` forces it (durable state survives)`,
      });
    }
  }
  // ployzd leaves its gateway and its DNS serving when it stops (a restart must not go dark): down means down.
  await stopLeftServing(options.dataDir);
  return pid === undefined ? { wasRunning: false } : { wasRunning: true, pid };
}

/** Stops what a stopping ployzd leaves serving on purpose for the next one to adopt: Caddy and the DNS process. */
export async function stopLeftServing(dataDir: string): Promise<void> {
  const paths = dataPaths(dataDir);
  await Promise.all([stopCaddy(paths.caddyPid, paths.caddyConfig), stopDnsProcess(paths.dnsPid, paths.dnsConfig)]);
}

export interface DevStatus {
  dataDir: string;
  running: boolean;
  pid?: number;
  info?: ClientInfo;
  ping?: { ok: true; latencyMs: number; machine: string } | { ok: false; error: string };
}

/** `ployzctl dev status`: is the dev daemon running, and does it answer? */
export async function devStatus(options: { dataDir: string; env: NodeJS.ProcessEnv }): Promise<DevStatus> {
  const pid = daemonPid(options.dataDir);
  const info = runningInfo(options.dataDir);
  const status: DevStatus = { dataDir: options.dataDir, running: pid !== undefined, ...(pid ? { pid } : {}), ...(info ? { info } : {}) };
  if (!info) return status;
  const started = performance.now();
  try {
    const client = await connectClient(contextFor(info));
    try {
      const pong = await client.ping();
      status.ping = { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100, machine: pong.machine };
    } finally {
      await client.close();
    }
  } catch (error) {
    status.ping = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  return status;
}

/** Lines of the daemon's log: the last `lines`, then (with `follow`) new ones as they come. */
export async function devLogs(options: {
  dataDir: string;
  lines: number;
  follow: boolean;
  onLine: (line: string) => void;
  signal?: AbortSignal;
}): Promise<void> {
  const file = dataPaths(options.dataDir).daemonLog;
  if (!existsSync(file)) throw new DaemonStartError(`no daemon log at ${file}: ployzd has not run with this data directory`, { hint: "start it with `ployzctl dev up`" });
  let offset = 0;
  const emit = (text: string) => text.split("\n").filter(Boolean).forEach(options.onLine);
  const all = readFileSync(file, "utf8");
  emit(all.split("\n").filter(Boolean).slice(-options.lines).join("\n"));
  offset = Buffer.byteLength(all);
  if (!options.follow) return;
  await new Promise<void>((resolve) => {
    const watcher = watch(file, () => {
      const size = statSync(file).size;
      if (size < offset) offset = 0;
      if (size === offset) return;
      const fd = openSync(file, "r");
      const buffer = Buffer.alloc(size - offset);
      try {
        readSync(fd, buffer, 0, buffer.length, offset);
      } finally {
        closeSync(fd);
      }
      offset = size;
      emit(buffer.toString("utf8"));
    });
    options.signal?.addEventListener("abort", () => {
      watcher.close();
      resolve();
    });
  });
}

function saveContext(info: ClientInfo, env: NodeJS.ProcessEnv) {
  const context = contextFor(info);
  return { context, contextFile: writeContext(context, env) };
}

function contextFor(info: ClientInfo): Context {
  return { name: DEV_CONTEXT, servers: info.servers, seedFile: info.seedFile, machineId: info.machineId, dataDir: info.dataDir };
}

function daemonPid(dataDir: string): number | undefined {
  const file = dataPaths(dataDir).daemonPid;
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("ployzd")) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/** The client info of a daemon that is running now (its pid alive), else undefined. */
function runningInfo(dataDir: string): ClientInfo | undefined {
  const info = readClientInfo(dataDir);
  return info && daemonPid(dataDir) === info.pid ? info : undefined;
}

function readClientInfo(dataDir: string): ClientInfo | undefined {
  try {
    return readJsonFile(dataPaths(dataDir).clientInfo, clientInfoSchema, "client info", "restart ployzd");
  } catch {
    return undefined; // being written, or stale
  }
}

function readJsonFileLoose<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean).slice(-lines).join(" | ");
  } catch {
    return "(no output)";
  }
}
