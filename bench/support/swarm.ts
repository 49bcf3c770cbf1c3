import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type Docker from "dockerode";
import type { Cleanup } from "./cleanup.ts";

const run = promisify(execFile);

/** Whether a baseline can use Docker Swarm here, and if not, why. */
export type SwarmAvailability = { ok: true; createdHere: boolean } | { ok: false; reason: string };

const GWBRIDGE = "docker_gwbridge";
const SERVICE_LABEL = "com.docker.swarm.service.name";

/**
 * A one-node swarm of this machine's dockerd on loopback: the one already active (left alone at
 * the end), or one initialised here, which the Cleanup leaves again, removing the docker_gwbridge
 * network that swarm tasks create if it did not exist before.
 */
export async function useLocalSwarm(docker: Docker, cleanup: Cleanup): Promise<SwarmAvailability> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  const state = info.Swarm?.LocalNodeState ?? "unknown";
  if (state === "active") {
    return info.Swarm?.ControlAvailable ? { ok: true, createdHere: false } : { ok: false, reason: "this dockerd is a swarm worker; services can only be created on a manager" };
  }
  if (state !== "inactive") return { ok: false, reason: `the swarm state of this dockerd is "${state}"` };

  const hadGwbridge = (await docker.listNetworks({ filters: { name: [GWBRIDGE] } })).some((n) => n.Name === GWBRIDGE);
  try {
    await cleanup.own("leave the swarm", dockerCli(["swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"]), async () => {
      await dockerCli(["swarm", "leave", "--force"]);
      if (!hadGwbridge) await removeNetworkIfUnused(docker, GWBRIDGE);
    });
  } catch (error) {
    return { ok: false, reason: `docker swarm init failed: ${commandError(error)}` };
  }
  return { ok: true, createdHere: true };
}

/** One timed `docker service create --detach=false`, and what swarm itself recorded. */
export interface ServiceCreateTiming {
  /** Spawn → the command exits: includes the CLI's wait "to verify that tasks are stable" (5 s by default). */
  commandMs: number;
  /** Spawn → the service object exists (CLI start, image digest resolution attempt, API call). */
  createdMs: number;
  /** Spawn → the last task's switch to `running`, by the task's own status timestamp. */
  allRunningMs: number;
}

/**
 * Runs `docker service create --replicas N --detach=false --name <name> <extra…> <image> <cmd…>`
 * and reads the tasks' timestamps once it returns (docker timestamps, this machine's clock).
 */
export async function createServiceTimed(
  docker: Docker,
  options: { name: string; replicas: number; image: string; command: string[]; labels: Record<string, string>; extraArgs?: string[] },
): Promise<ServiceCreateTiming> {
  const args = ["service", "create", "--replicas", String(options.replicas), "--detach=false", "--name", options.name];
  for (const [key, value] of Object.entries(options.labels)) args.push("--label", `${key}=${value}`);
  args.push(...(options.extraArgs ?? []), options.image, ...options.command);
  const spawnedAt = Date.now();
  const started = performance.now();
  await dockerCli(args, 300_000);
  const commandMs = performance.now() - started;

  const service = (await docker.getService(options.name).inspect()) as { ID: string; CreatedAt: string };
  const tasks = (await docker.listTasks({ filters: { service: [service.ID], "desired-state": ["running"] } })) as Array<{ Status: { State: string; Timestamp: string } }>;
  const running = tasks.filter((t) => t.Status.State === "running");
  if (running.length !== options.replicas) throw new Error(`service ${options.name}: ${running.length} of ${options.replicas} tasks running after the command returned`);
  const lastRunning = Math.max(...running.map((t) => Date.parse(t.Status.Timestamp)));
  return { commandMs, createdMs: Date.parse(service.CreatedAt) - spawnedAt, allRunningMs: lastRunning - spawnedAt };
}

/** Removes a service and waits until its containers are gone (swarm removes them asynchronously). */
export async function removeService(docker: Docker, name: string, timeoutMs = 120_000): Promise<void> {
  await docker
    .getService(name)
    .remove()
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await docker.listContainers({ all: true, filters: { label: [`${SERVICE_LABEL}=${name}`] } });
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`service ${name} removed, but ${left.length} of its containers are still there after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Removes every service labelled `label=value` (what a benchmark created), waiting for their containers. */
export async function removeLabelledServices(docker: Docker, label: string, value: string): Promise<void> {
  const services = (await docker.listServices({ filters: { label: [`${label}=${value}`] } })) as unknown as Array<{ Spec: { Name: string } }>;
  for (const service of services) await removeService(docker, service.Spec.Name);
}

async function removeNetworkIfUnused(docker: Docker, name: string): Promise<void> {
  const network = docker.getNetwork(name);
  const info = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
  if (info && Object.keys(info.Containers ?? {}).length === 0) await network.remove();
}

/** The docker CLI, for what a user would type; its stderr becomes the error message. */
async function dockerCli(args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    throw new Error(`docker ${args.slice(0, 2).join(" ")}: ${commandError(error)}`, { cause: error });
  }
}

function commandError(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).split("\n").slice(-2).join(" ");
}
