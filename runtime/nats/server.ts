import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { NatsServerMissingError, PortInUseError, DaemonStartError } from "../../model/errors.ts";
import { assertPortFree, stopOrphan } from "../process.ts";

export interface NatsServerOptions {
  configFile: string;
  pidFile: string;
  logFile: string;
  host: string;
  port: number;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** A running nats-server child. `stop()` ends it gracefully (SIGTERM, then SIGKILL). */
export interface NatsServerHandle {
  pid: number;
  url: string;
  stop(): Promise<void>;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const INSTALL_HINT = "install it (apt-get install --no-install-recommends nats-server) or set PLOYZ_NATS_SERVER to its path";

/** The nats-server binary: $PLOYZ_NATS_SERVER, else the first on PATH (plus the sbin dirs). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.PLOYZ_NATS_SERVER;
  if (explicit) {
    if (!isExecutable(explicit)) throw new NatsServerMissingError(`nats-server not found at ${explicit} (PLOYZ_NATS_SERVER)`, { hint: INSTALL_HINT });
    return explicit;
  }
  const dirs = [...(env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  throw new NatsServerMissingError(`nats-server not found in PATH or /usr/sbin`, { hint: INSTALL_HINT });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Stops a nats-server left behind by a ployzd that was killed (its pid file names it and its
 * command line names our config), so the machine comes back cleanly after `kill -9`.
 */
export async function stopOrphanNatsServer(pidFile: string, configFile: string): Promise<number | undefined> {
  return await stopOrphan(pidFile, ["nats-server", configFile]);
}

/** Starts nats-server with `configFile` and resolves once it logs that it is ready. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServerHandle> {
  const binary = findNatsServer(options.env);
  await assertPortFree(options.host, options.port, "the NATS client port of this machine");
  const logOffset = existsSync(options.logFile) ? statSync(options.logFile).size : 0;
  const child: ChildProcess = spawn(binary, ["-c", options.configFile, "--log", options.logFile], {
    stdio: ["ignore", "ignore", "pipe"],
    env: options.env ?? process.env,
    // Its own process group: a Ctrl-C meant for ployzd must not reach nats-server, which is
    // stopped last, after everything that uses it.
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  for (;;) {
    const log = readFrom(options.logFile, logOffset);
    if (log.includes("Server is ready")) break;
    const early = await Promise.race([
      exited.then((e) => ({ kind: "exit" as const, ...e })),
      spawnError.then((error) => ({ kind: "error" as const, error })),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 25)),
    ]);
    if (early?.kind === "error") {
      throw new NatsServerMissingError(`cannot run nats-server at ${binary}: ${early.error.message}`, { hint: INSTALL_HINT, cause: early.error });
    }
    if (early?.kind === "exit") {
      const output = `${readFrom(options.logFile, logOffset)}\n${stderr}`.trim();
      if (/address already in use/i.test(output)) {
        throw new PortInUseError(`port ${options.host}:${options.port} is in use: nats-server could not listen`, {
          hint: "stop the process that holds it (ss -ltnp), or start with another --nats-port",
        });
      }
      throw new DaemonStartError(`nats-server exited (code ${early.code ?? early.signal}) before it was ready: ${lastLines(output, 5)}`, {
        hint: `see ${options.logFile}`,
      });
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new DaemonStartError(`nats-server did not become ready within ${options.readyTimeoutMs ?? 15_000} ms`, { hint: `see ${options.logFile}` });
    }
  }
  const pid = child.pid!;
  return {
    pid,
    url: `nats://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return "";
    const buffer = Buffer.alloc(Math.min(size - offset, 1 << 20));
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function lastLines(text: string, n: number): string {
  return text.split("\n").filter(Boolean).slice(-n).join(" | ");
}
