import type Docker from "dockerode";
import { translateDockerError } from "./containers.ts";

/** Stops (gracefully, within `stopTimeoutS`) and removes a container; false if it did not exist. */
export async function removeContainer(docker: Docker, containerId: string, stopTimeoutS: number): Promise<boolean> {
  const container = docker.getContainer(containerId);
  try {
    await container.stop({ t: stopTimeoutS });
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
