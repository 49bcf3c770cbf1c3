import type Docker from "dockerode";
import { externalVolumeMounts } from "../../model/container-options.ts";
import { NotFoundError } from "../../model/errors.ts";
import type { ServiceSpec } from "../../model/manifest.ts";
import { translateDockerError } from "./containers.ts";

/**
 * Refuses to start a service whose external volume does not exist on this machine: Docker would
 * quietly create an empty one, and the service would run without its data.
 */
export async function assertExternalVolumesExist(docker: Docker, spec: ServiceSpec, machine: string): Promise<void> {
  for (const { name } of externalVolumeMounts(spec)) {
    try {
      await docker.getVolume(name).inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) {
        throw new NotFoundError(`external volume "${name}" does not exist on machine ${machine}`, {
          hint: `create it there (docker volume create ${name}), or remove external: true to let Ployz manage the volume`,
          cause: error,
        });
      }
      throw translateDockerError(error, `volume ${name}`);
    }
  }
}
