import type Docker from "dockerode";
import { HTTPD_COMMAND, HTTPD_IMAGE, HTTPD_PORT, PROBE_INTERVAL_MS, waitForHttp200 } from "./httpd-workload.ts";

/** One httpd container started straight through dockerode, and how long each step took. */
export interface PlainRun {
  containerId: string;
  /** Call → created, started and inspected (it has its address). */
  startedMs: number;
  /** Call → it answered GET / with 200. */
  readyMs: number;
}

/**
 * `docker run -d --init` of the benchmarks' httpd (same image, command and init as a ployz
 * instance) through dockerode: create, start, the inspect that gives its address, then GET /
 * every PROBE_INTERVAL_MS until 200, as a user checking readiness would. The container is left
 * running; the caller removes it by one of `labels`.
 */
export async function dockerRunHttpd(docker: Docker, labels: Record<string, string>): Promise<PlainRun> {
  const started = performance.now();
  const container = await docker.createContainer({ Image: HTTPD_IMAGE, Cmd: HTTPD_COMMAND, Labels: labels, HostConfig: { Init: true } });
  await container.start();
  const info = await container.inspect();
  const ip = Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  if (!ip) throw new Error(`container ${info.Id.slice(0, 12)} has no IP address`);
  const startedMs = performance.now() - started;
  await waitForHttp200(`http://${ip}:${HTTPD_PORT}/`, PROBE_INTERVAL_MS, 30_000);
  return { containerId: info.Id, startedMs, readyMs: performance.now() - started };
}
