import type Docker from "dockerode";
import { LABELS } from "../../model/instance.ts";
import type { ManagedContainer } from "../../model/participant.ts";
import { translateDockerError } from "./containers.ts";

/**
 * Every container this cluster manages on this dockerd (optionally of one namespace), from its
 * labels. Containers of another cluster sharing the dockerd are never listed.
 */
export async function listManagedContainers(docker: Docker, clusterId: string, namespace?: string): Promise<ManagedContainer[]> {
  const label = [`${LABELS.managed}=true`, `${LABELS.cluster}=${clusterId}`, ...(namespace ? [`${LABELS.namespace}=${namespace}`] : [])];
  try {
    const list = await docker.listContainers({ all: true, filters: { label } });
    return list.map((c) => {
      const l = c.Labels ?? {};
      const address = Object.values(c.NetworkSettings?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
      return {
        containerId: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
        namespace: l[LABELS.namespace] ?? "",
        service: l[LABELS.service] ?? "",
        slot: Number(l[LABELS.slot] ?? -1),
        revision: l[LABELS.revision] ?? "",
        deployId: l[LABELS.deploy] ?? "",
        state: c.State,
        status: c.Status,
        ...exitCodeOf(c.State, c.Status),
        ...(address ? { address } : {}),
      };
    });
  } catch (error) {
    throw translateDockerError(error, "the managed containers");
  }
}

/** Docker's list says "Exited (137) 2 minutes ago"; the exit code is only in that text. */
function exitCodeOf(state: string, status: string): { exitCode?: number } {
  const match = state === "exited" ? /^Exited \((-?\d+)\)/.exec(status) : null;
  return match ? { exitCode: Number(match[1]) } : {};
}
