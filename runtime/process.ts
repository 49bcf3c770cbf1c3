import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { isAlive } from "../actors/host/process-alive.ts";
import { CommandFailedError, PortInUseError } from "../model/errors.ts";

export { isAlive } from "../actors/host/process-alive.ts";

/** Waits until `pid` has exited; false if it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/** Throws PortInUseError naming `what` if host:port cannot be bound right now. */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new PortInUseError(`port ${host}:${port} (${what}) is in use by another process`, {
            hint: `stop the process that holds it (ss -ltnp 'sport = :${port}'), or use another data directory`,
          }),
        );
      } else reject(error);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A port on `host` that is free at this moment (TCP, or UDP for `"udp"`). */
export async function freePort(host = "127.0.0.1", protocol: "tcp" | "udp" = "tcp"): Promise<number> {
  if (protocol === "udp") {
    const { createSocket } = await import("node:dgram");
    return await new Promise<number>((resolve, reject) => {
      const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
      socket.once("error", reject);
      socket.bind(0, host, () => {
        const port = socket.address().port;
        socket.close(() => resolve(port));
      });
    });
  }
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The pid a pid file names, if that process is alive and its command line contains every marker
 * (so an unrelated process that reused the pid is never taken for ours).
 */
export function ownedPid(pidFile: string, markers: readonly string[]): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return undefined; // it exited meanwhile
  }
  return markers.every((m) => cmdline.includes(m)) ? pid : undefined;
}

/** Resolves once `pid` (a process that is not our child: no exit event) has exited; looked at every half second. */
export function exitOf(pid: number): Promise<{ code: number | null }> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!isAlive(pid)) {
        clearInterval(timer);
        resolve({ code: null });
      }
    }, 500);
    timer.unref();
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  if (!(await waitForExit(pid, graceMs))) {
    process.kill(pid, "SIGKILL");
    await waitForExit(pid, 5_000);
  }
}

/**
 * Stops a child left behind by a ployzd that was killed: its pid file names it, and its command
 * line must contain every marker (so an unrelated process that reused the pid is never touched).
 */
export async function stopOrphan(pidFile: string, markers: string[]): Promise<number | undefined> {
  const pid = ownedPid(pidFile, markers);
  if (pid === undefined) return undefined;
  await stopPid(pid);
  return pid;
}

/** What a program said and how it ended (128 when a signal ended it). */
export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `PROGRAM… SCRIPT ARGS` (e.g. `node`, or `nsenter --net=… node`) until it exits, collecting
 * its output; one that outlives `timeoutMs` is killed and reported (CommandFailedError).
 */
export function runScript(program: readonly string[], script: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program[0]!, [...program.slice(1), script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new CommandFailedError(`${script} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
