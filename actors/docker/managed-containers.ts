import type Docker from "dockerode";
import { ContainerNotManagedError } from "../../model/errors.ts";
import { LABELS, managedLabelFilter, shortContainerRef } from "../../model/instance.ts";
import type { ManagedContainer } from "../../model/participant.ts";
import { translateDockerError } from "./containers.ts";

/**
 * Every container this cluster manages on this dockerd (optionally of one namespace), from its
 * labels. Containers of another cluster sharing the dockerd are never listed.
 */
export async function listManagedContainers(docker: Docker, clusterId: string, namespace?: string): Promise<ManagedContainer[]> {
  try {
    const list = await docker.listContainers({ all: true, filters: { label: managedLabelFilter(clusterId, namespace) } });
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

/**
 * The container `ref` (its full id or its name) if the cluster `clusterId` manages it, else
 * undefined — the same for a container that does not exist and one that is not ours. The
 * reference is resolved among this cluster's containers only (never by Docker's id-prefix
 * lookup, whose "ambiguous" answer would tell about containers that are not ours); everything
 * after this acts on the full id returned.
 */
export async function findManagedContainer(docker: Docker, clusterId: string, ref: string): Promise<Docker.ContainerInspectInfo | undefined> {
  let list: Docker.ContainerInfo[];
  try {
    list = await docker.listContainers({ all: true, filters: { label: managedLabelFilter(clusterId) } });
  } catch (error) {
    throw translateDockerError(error, "the managed containers");
  }
  const match = list.find((c) => c.Id === ref || c.Names.includes(`/${ref}`));
  if (!match) return undefined;
  try {
    return await docker.getContainer(match.Id).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined; // removed since it was listed
    throw translateDockerError(error, `container ${shortContainerRef(match.Id)}`);
  }
}

/** Like `findManagedContainer`, but a container that is not this cluster's is a ContainerNotManagedError. */
export async function managedContainer(docker: Docker, clusterId: string, ref: string): Promise<Docker.ContainerInspectInfo> {
  const found = await findManagedContainer(docker, clusterId, ref);
  if (found) return found;
  throw new ContainerNotManagedError(`container ${shortContainerRef(ref)} is not managed by this cluster`, {
    hint: "a participant shows and touches only the containers this cluster started (by full id or name)",
  });
}

/** Docker's list says "Exited (137) 2 minutes ago"; the exit code is only in that text. */
function exitCodeOf(state: string, status: string): { exitCode?: number } {
  const match = state === "exited" ? /^Exited \((-?\d+)\)/.exec(status) : null;
  return match ? { exitCode: Number(match[1]) } : {};
}
