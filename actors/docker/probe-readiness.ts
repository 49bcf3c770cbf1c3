import { connect } from "node:net";
import type Docker from "dockerode";
import { PloyzError } from "../../model/errors.ts";
import type { ReadinessProbe } from "../../model/manifest.ts";
import { translateDockerError } from "./containers.ts";
import { lastLogLines } from "./logs.ts";
import { sleep } from "../sleep.ts";

/** A candidate never became ready; the message says which probe and its last failure. */
export class NotReadyError extends PloyzError {
  override readonly code = "not-ready";
}

export interface ProbeResult {
  attempts: number;
  ms: number;
}

export interface ProbeOptions {
  signal?: AbortSignal;
  /**
   * Runs right before each command of an exec probe; what it throws ends the probe at once (not
   * a failed attempt). The participant checks there that the asking deploy still holds its lock.
   */
  beforeExec?: () => Promise<void>;
}

/**
 * Waits until a container is ready by its probe (or, without one, until it is running and
 * stays up for a moment). Fails as soon as the container exits, or after `retries` consecutive
 * failed attempts once the start period is over.
 */
export async function probeReadiness(docker: Docker, containerId: string, probe: ReadinessProbe | undefined, options: ProbeOptions = {}): Promise<ProbeResult> {
  const { signal } = options;
  const started = Date.now();
  const container = docker.getContainer(containerId);
  const address = async () => {
    const info = await container.inspect().catch((error: unknown) => {
      throw translateDockerError(error, `container ${containerId}`);
    });
    if (!info.State.Running) {
      const logs = await lastLogLines(docker, containerId, 5);
      throw new NotReadyError(`container ${info.Name.replace(/^\//, "")} exited with code ${info.State.ExitCode} before it was ready${logs ? `; last output: ${logs}` : ""}`);
    }
    return Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  };

  if (!probe) {
    await sleep(300, signal);
    await address();
    return { attempts: 1, ms: Date.now() - started };
  }
  if (probe.startPeriod > 0) await sleep(probe.startPeriod, signal);
  let failures = 0;
  let attempts = 0;
  let lastError = "";
  for (;;) {
    if (signal?.aborted) throw new NotReadyError(`readiness probe of ${containerId.slice(0, 12)} was cancelled`);
    attempts++;
    const ip = await address();
    if (probe.type === "exec") await options.beforeExec?.();
    try {
      await attempt(docker, containerId, ip, probe);
      return { attempts, ms: Date.now() - started };
    } catch (error) {
      failures++;
      lastError = error instanceof Error ? error.message : String(error);
      if (failures >= probe.retries) {
        throw new NotReadyError(`readiness probe ${describeProbe(probe)} failed ${failures} times in a row: ${lastError}`);
      }
    }
    await sleep(probe.interval, signal);
  }
}

function describeProbe(probe: ReadinessProbe): string {
  if (probe.type === "http") return `http :${probe.port}${probe.path}`;
  if (probe.type === "tcp") return `tcp :${probe.port}`;
  return `exec ${probe.command.join(" ")}`;
}

async function attempt(docker: Docker, containerId: string, ip: string | undefined, probe: ReadinessProbe): Promise<void> {
  if (probe.type === "exec") return await execProbe(docker, containerId, probe.command, probe.timeout);
  if (!ip) throw new Error("the container has no IP address");
  if (probe.type === "tcp") return await tcpProbe(ip, probe.port, probe.timeout);
  const response = await fetch(`http://${ip}:${probe.port}${probe.path}`, { signal: AbortSignal.timeout(probe.timeout), redirect: "manual" });
  await response.body?.cancel();
  if (response.status >= 400) throw new Error(`HTTP ${response.status}`);
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function execProbe(docker: Docker, containerId: string, command: string[], timeoutMs: number): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await Promise.race([
    new Promise<void>((resolve) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.resume();
    }),
    sleep(timeoutMs).then(() => {
      stream.destroy();
      throw new Error(`${command.join(" ")} did not finish within ${timeoutMs} ms`);
    }),
  ]);
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`${command.join(" ")} exited with ${info.ExitCode}`);
}

