import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { DaemonStartError, ProgramMissingError } from "../model/errors.ts";
import { httpRequest } from "../actors/http/http-request.ts";
import { writeFileAtomic } from "./files.ts";
import { assertPortFree } from "./process.ts";
import { renderCaddyConfig } from "../model/caddy-config.ts";
import { emptyProjection } from "../model/routing.ts";

export interface CaddyOptions {
  binary?: string;
  configFile: string;
  pidFile: string;
  logFile: string;
  /** Caddy's data and config directories (certificates, autosave). */
  home: string;
  adminHost: string;
  adminPort: number;
  httpHost: string;
  httpPort: number;
}

export interface CaddyHandle {
  pid: number;
  adminUrl: string;
  httpAddress: string;
  stop(): Promise<void>;
  exited: Promise<{ code: number | null }>;
}

/**
 * Starts the gateway's data plane: a Caddy child process with an empty routing config, its admin
 * API on loopback. The gateway actor programs it with whole configs; Caddy outlives a gateway
 * actor's restart, so routing keeps working while the actor recovers.
 */
export async function startCaddy(options: CaddyOptions): Promise<CaddyHandle> {
  await assertPortFree(options.adminHost, options.adminPort, "the gateway's admin API");
  await assertPortFree(options.httpHost, options.httpPort, "the gateway's HTTP listener");
  const listen = { admin: `${options.adminHost}:${options.adminPort}`, http: `${options.httpHost}:${options.httpPort}` };
  writeFileAtomic(options.configFile, JSON.stringify(renderCaddyConfig(emptyProjection(), listen), null, 2), 0o600);
  const log = openSync(options.logFile, "a", 0o600);
  const child = spawn(options.binary ?? process.env.PLOYZ_CADDY ?? "caddy", ["run", "--config", options.configFile], {
    stdio: ["ignore", log, log],
    detached: true,
    env: { ...process.env, HOME: options.home, XDG_DATA_HOME: `${options.home}/data`, XDG_CONFIG_HOME: `${options.home}/config` },
  });
  closeSync(log);
  if (child.pid) writeFileAtomic(options.pidFile, `${child.pid}\n`, 0o644);
  const exited = new Promise<{ code: number | null }>((resolve) => child.once("exit", (code) => resolve({ code })));
  const failed = new Promise<Error>((resolve) => child.once("error", resolve));
  const adminUrl = `http://${options.adminHost}:${options.adminPort}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const early = await Promise.race([
      exited.then((e) => ({ kind: "exit" as const, code: e.code })),
      failed.then((error) => ({ kind: "error" as const, error })),
      httpRequest(`${adminUrl}/config/`, { timeoutMs: 500 }).then(
        (r) => ({ kind: r.ok ? ("ready" as const) : ("wait" as const) }),
        () => ({ kind: "wait" as const }),
      ),
    ]);
    if (early.kind === "ready") break;
    if (early.kind === "error") throw new ProgramMissingError(`cannot run caddy: ${early.error.message}`, { hint: "install it: apt-get install --no-install-recommends caddy" });
    if (early.kind === "exit") throw new DaemonStartError(`caddy exited (code ${early.code}) before it was ready`, { hint: `see ${options.logFile}` });
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new DaemonStartError("caddy did not become ready within 15 s", { hint: `see ${options.logFile}` });
    }
    // Caddy is up in tens of milliseconds; a refused connection costs next to nothing.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    pid: child.pid!,
    adminUrl,
    httpAddress: listen.http,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}
