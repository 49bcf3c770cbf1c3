import type Docker from "dockerode";
import { InvalidArgumentError } from "../../model/errors.ts";
import { LABELS } from "../../model/instance.ts";
import { translateDockerError } from "./containers.ts";

/**
 * Throws unless the container is one this cluster manages in `namespace` (by its labels). False
 * when it does not exist. A participant never acts on a container Ployz did not make.
 */
export async function isManagedIn(docker: Docker, clusterId: string, namespace: string, containerId: string): Promise<boolean> {
  let labels: Record<string, string>;
  try {
    labels = (await docker.getContainer(containerId).inspect()).Config.Labels ?? {};
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw translateDockerError(error, `container ${containerId}`);
  }
  if (labels[LABELS.managed] !== "true" || labels[LABELS.cluster] !== clusterId || labels[LABELS.namespace] !== namespace) {
    throw new InvalidArgumentError(`container ${containerId.slice(0, 12)} is not a container of namespace ${namespace} managed by this cluster`, {
      hint: "Ployz only touches the containers it started",
    });
  }
  return true;
}
