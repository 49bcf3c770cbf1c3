import type Docker from "dockerode";
import type { ObjectStore } from "@nats-io/obj";
import { NotFoundError } from "../../model/errors.ts";
import { translateDockerError } from "./containers.ts";

/**
 * Makes sure the local dockerd has `image`: if it lacks it, loads it from the cluster's image
 * store (`ployzctl image push`). No registry is ever contacted.
 */
export async function ensureImage(docker: Docker, images: ObjectStore, image: string, machineId: string): Promise<"present" | "loaded"> {
  if (await hasImage(docker, image)) return "present";
  const info = await images.info(imageObjectName(image)).catch(() => null);
  if (!info || info.deleted) {
    throw new NotFoundError(`image ${image} is neither in machine ${machineId}'s dockerd nor in the cluster image store`, {
      hint: `push it with \`ployzctl image push ${image}\``,
    });
  }
  const result = await images.get(imageObjectName(image));
  if (!result) throw new NotFoundError(`image ${image} vanished from the cluster image store`);
  const { Readable } = await import("node:stream");
  const stream = Readable.fromWeb(result.data as import("node:stream/web").ReadableStream<Uint8Array>);
  try {
    const output = await docker.loadImage(stream);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(output, (error: Error | null) => (error ? reject(error) : resolve()));
    });
  } catch (error) {
    throw translateDockerError(error, `loading image ${image}`);
  }
  const error = await result.error;
  if (error) throw error;
  if (!(await hasImage(docker, image))) throw new NotFoundError(`the archive stored as ${image} did not contain that image`);
  return "loaded";
}

async function hasImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw translateDockerError(error, `image ${image}`);
  }
}

/** The object name an image is stored under in the `images` object store. */
export function imageObjectName(image: string): string {
  return image.includes(":") || image.includes("@") ? image : `${image}:latest`;
}
