import type Docker from "dockerode";
import { translateDockerError } from "./containers.ts";

/**
 * Stops (gracefully, within the container's own stop timeout — a service's stop_grace_period —
 * or else `stopTimeoutS`) and removes a container; false if it did not exist.
 */
export async function removeContainer(docker: Docker, containerId: string, stopTimeoutS: number): Promise<boolean> {
  const container = docker.getContainer(containerId);
  try {
    // @types/dockerode lacks Config.StopTimeout, which dockerd sets when the container was created with one.
    const own = ((await container.inspect()).Config as { StopTimeout?: number }).StopTimeout;
    await container.stop({ t: typeof own === "number" ? own : stopTimeoutS });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) return false;
    if (status !== 304) throw translateDockerError(error, `stopping container ${containerId}`); // 304: already stopped
  }
  try {
    await container.remove({ force: true, v: false });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return true;
    throw translateDockerError(error, `removing container ${containerId}`);
  }
  return true;
}
