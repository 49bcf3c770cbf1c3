import type Docker from "dockerode";
import { NotFoundError, PloyzError } from "../../model/errors.ts";
import type { ContainerInspect, ContainerSummary } from "../../model/observation.ts";

/** dockerd could not be reached or refused the call. */
export class DockerUnavailableError extends PloyzError {
  override readonly code = "docker-unavailable";
}

/** Translates dockerode failures: 404 becomes NotFoundError, a dead socket DockerUnavailableError. */
export function translateDockerError(error: unknown, what: string): Error {
  const e = error as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode === 404) return new NotFoundError(`${what}: not found`, { cause: error });
  if (e.code === "ENOENT" || e.code === "ECONNREFUSED" || e.code === "EACCES") {
    return new DockerUnavailableError(`dockerd is not reachable (${e.code}) while asking for ${what}`, {
      hint: "start dockerd (scripts/setup.sh does it in the lab)",
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Every container of the local dockerd, running or not. */
export async function listContainers(docker: Docker): Promise<ContainerSummary[]> {
  try {
    const list = await docker.listContainers({ all: true });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
      image: c.Image,
      state: c.State,
      status: c.Status,
      labels: c.Labels ?? {},
      createdAt: new Date(c.Created * 1000).toISOString(),
    }));
  } catch (error) {
    throw translateDockerError(error, "the container list");
  }
}

/** What `container.inspect` answers about one container, from Docker's inspect. */
export function describeContainer(c: Docker.ContainerInspectInfo): ContainerInspect["container"] {
  const ipAddresses: Record<string, string> = {};
  for (const [network, settings] of Object.entries(c.NetworkSettings.Networks ?? {})) {
    if (settings.IPAddress) ipAddresses[network] = settings.IPAddress;
  }
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    image: c.Config.Image,
    state: c.State.Status,
    status: c.State.Running ? "running" : `exited (${c.State.ExitCode})`,
    labels: c.Config.Labels ?? {},
    createdAt: c.Created,
    ipAddresses,
    restartCount: c.RestartCount,
    exitCode: c.State.Running ? null : c.State.ExitCode,
  };
}
