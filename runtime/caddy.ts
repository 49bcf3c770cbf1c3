import { spawn } from "node:child_process";
import { closeSync, openSync, rmSync } from "node:fs";
import { caddyAdmin, type CaddyAdmin } from "../actors/gateway/caddy-admin.ts";
import { renderCaddyConfig } from "../model/caddy-config.ts";
import { DaemonStartError, ProgramMissingError } from "../model/errors.ts";
import { emptyProjection } from "../model/routing.ts";
import { writeFileAtomic } from "./files.ts";
import { assertPortFree, exitOf, ownedPid, stopPid } from "./process.ts";

export interface CaddyOptions {
  binary?: string;
  configFile: string;
  pidFile: string;
  logFile: string;
  /** Caddy's data and config directories (certificates, autosave): 0700. */
  home: string;
  /** The admin API's unix socket (in `home`). */
  adminSocket: string;
  httpHost: string;
  httpPort: number;
}

export interface CaddyHandle {
  pid: number;
  admin: CaddyAdmin;
  httpAddress: string;
  /** It was already running (left by an earlier ployzd) and serves on, with the config it had. */
  adopted: boolean;
  stop(): Promise<void>;
  exited: Promise<{ code: number | null }>;
}

/**
 * The gateway's data plane: Caddy, its admin API on a unix socket. A Caddy an earlier ployzd left
 * running (its pid file names it, its command line names our config) is adopted, not restarted:
 * it goes on serving its last config through a ployzd restart or crash, and the gateway loads the
 * current one once it has it. Otherwise Caddy is started with no routes.
 */
export async function startOrAdoptCaddy(options: CaddyOptions): Promise<CaddyHandle> {
  const admin = caddyAdmin(options.adminSocket);
  const httpAddress = `${options.httpHost}:${options.httpPort}`;
  const running = runningCaddy(options.pidFile, options.configFile);
  if (running !== undefined && (await admin.ping())) {
    return { pid: running, admin, httpAddress, adopted: true, exited: exitOf(running), stop: () => stopPid(running, 5_000) };
  }
  if (running !== undefined) await stopPid(running); // ours, but deaf: start afresh
  rmSync(options.adminSocket, { force: true });
  await assertPortFree(options.httpHost, options.httpPort, "the gateway's HTTP listener");
  writeFileAtomic(options.configFile, JSON.stringify(renderCaddyConfig(emptyProjection(), { admin: admin.listen, http: httpAddress }), null, 2), 0o600);
  const log = openSync(options.logFile, "a", 0o600);
  const child = spawn(options.binary ?? process.env.PLOYZ_CADDY ?? "caddy", ["run", "--config", options.configFile], {
    stdio: ["ignore", log, log],
    // Its own process group, and unreferenced: it outlives ployzd on purpose.
    detached: true,
    env: { ...process.env, HOME: options.home, XDG_DATA_HOME: `${options.home}/data`, XDG_CONFIG_HOME: `${options.home}/config` },
  });
  closeSync(log);
  child.unref();
  if (child.pid) writeFileAtomic(options.pidFile, `${child.pid}\n`, 0o644);
  const exited = new Promise<{ code: number | null }>((resolve) => child.once("exit", (code) => resolve({ code })));
  const failed = new Promise<Error>((resolve) => child.once("error", resolve));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const early = await Promise.race([
      exited.then((e) => ({ kind: "exit" as const, code: e.code })),
      failed.then((error) => ({ kind: "error" as const, error })),
      admin.ping().then((ok) => ({ kind: ok ? ("ready" as const) : ("wait" as const) })),
    ]);
    if (early.kind === "ready") break;
    if (early.kind === "error") throw new ProgramMissingError(`cannot run caddy: ${early.error.message}`, { hint: "install it: apt-get install --no-install-recommends caddy" });
    if (early.kind === "exit") throw new DaemonStartError(`caddy exited (code ${early.code}) before it was ready`, { hint: `see ${options.logFile}` });
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new DaemonStartError("caddy did not become ready within 15 s", { hint: `see ${options.logFile}` });
    }
    // Caddy is up in tens of milliseconds; asking a socket nobody listens on yet costs next to nothing.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { pid: child.pid!, admin, httpAddress, adopted: false, exited, stop: () => stopPid(child.pid!, 5_000) };
}

/** The pid of the Caddy the pid file names, if it is alive and runs our config. */
const runningCaddy = (pidFile: string, configFile: string) => ownedPid(pidFile, ["caddy", configFile]);

/** Stops the Caddy a data directory's pid file names (`dev down`): ployzd itself leaves it running. */
export async function stopCaddy(pidFile: string, configFile: string): Promise<number | undefined> {
  const pid = runningCaddy(pidFile, configFile);
  if (pid === undefined) return undefined;
  await stopPid(pid);
  rmSync(pidFile, { force: true });
  return pid;
}
