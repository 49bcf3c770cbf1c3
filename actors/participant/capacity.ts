import { statfs } from "node:fs/promises";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type Docker from "dockerode";
import type { Capacity } from "../../model/observation.ts";
import { translateDockerError } from "../docker/containers.ts";

/** This machine's capacity right now: CPU, memory, the data directory's disk, and containers. */
export async function observeCapacity(docker: Docker, machineId: string, diskPath: string): Promise<Capacity> {
  const [disk, containers] = await Promise.all([statfs(diskPath), countContainers(docker)]);
  return {
    type: "capacity",
    machine: machineId,
    at: new Date().toISOString(),
    cpu: { cores: cpus().length, load1m: loadavg()[0] ?? 0 },
    memory: { totalBytes: totalmem(), freeBytes: freemem() },
    disk: { path: diskPath, totalBytes: disk.blocks * disk.bsize, freeBytes: disk.bavail * disk.bsize },
    containers,
  };
}

async function countContainers(docker: Docker): Promise<Capacity["containers"]> {
  try {
    const list = await docker.listContainers({ all: true });
    return { ok: true, running: list.filter((c) => c.State === "running").length, total: list.length };
  } catch (error) {
    return { ok: false, error: translateDockerError(error, "the container count").message };
  }
}
