import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import type { Commands } from "../../actors/host/commands.ts";
import { DaemonStartError } from "../../model/errors.ts";
import { dockerBridgeIp } from "../../model/workload-subnet.ts";
import { createDocker } from "../docker.ts";
import { isAlive } from "../process.ts";

/** Where a lab machine's dockerd keeps everything (under the machine's directory). */
export function labDockerPaths(machineDir: string) {
  return {
    dataRoot: join(machineDir, "docker"),
    execRoot: join(machineDir, "docker-exec"),
    socket: join(machineDir, "docker.sock"),
    pidFile: join(machineDir, "docker.pid"),
    logFile: join(machineDir, "dockerd.log"),
    /** An empty daemon.json of its own, so a host /etc/docker/daemon.json (hosts, bridge…) never applies. */
    configFile: join(machineDir, "daemon.json"),
  };
}

/**
 * Starts a dockerd of the machine's own inside its network namespace (`nsenter --net`, never
 * `ip netns exec`, which remounts /sys and breaks dockerd), its bridge on the workload subnet
 * (`--bip`; with no subnet docker0 stays on Docker's default, like a real machine's), and waits
 * until it answers. `started` hears the pid as soon as it runs (the lab
 * records it before waiting, so a crash while waiting leaves nothing unrecorded). Returns its pid
 * and a client for it.
 */
export async function startLabDockerd(commands: Commands, machineDir: string, subnet: string | undefined, started: (pid: number) => void = () => {}): Promise<{ pid: number; docker: Docker }> {
  const paths = labDockerPaths(machineDir);
  writeFileSync(paths.configFile, "{}\n", { mode: 0o600 });
  const pid = await commands.spawnDetached(
    [
      "dockerd",
      "--config-file",
      paths.configFile,
      "--data-root",
      paths.dataRoot,
      "--exec-root",
      paths.execRoot,
      "-H",
      `unix://${paths.socket}`,
      "--pidfile",
      paths.pidFile,
      ...(subnet ? ["--bip", dockerBridgeIp(subnet)] : []),
    ],
    { logFile: paths.logFile },
  );
  started(pid);
  const docker = createDocker({ DOCKER_HOST: `unix://${paths.socket}` });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!isAlive(pid)) throw new DaemonStartError(`dockerd of ${commands.where} exited at start: ${lastLines(paths.logFile)}`, { hint: `see ${paths.logFile}` });
    if (existsSync(paths.socket) && (await answers(docker))) return { pid, docker };
    if (Date.now() > deadline) throw new DaemonStartError(`dockerd of ${commands.where} did not answer within 30 s`, { hint: `see ${paths.logFile}` });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function answers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED" || code === "ENOENT") return false; // not listening yet
    throw error;
  }
}

/** Copies images from one dockerd into another (`docker save | docker load`, through the API). */
export async function copyImages(from: Docker, to: Docker, images: readonly string[]): Promise<void> {
  for (const image of images) {
    const tar = await from.getImage(image).get();
    const loading = await to.loadImage(tar, { quiet: true });
    await new Promise<void>((resolve, reject) => {
      to.modem.followProgress(loading, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** Ids of the containers a lab dockerd knows (its data root lists them even when it is down). */
export function labContainerIds(machineDir: string): string[] {
  const dir = join(labDockerPaths(machineDir).dataRoot, "containers");
  try {
    return readdirSync(dir).filter((id) => /^[0-9a-f]{64}$/.test(id));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function lastLines(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-3).join(" | ");
  } catch (error) {
    return `(cannot read ${file}: ${(error as Error).message})`;
  }
}
