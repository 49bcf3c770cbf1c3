import type Docker from "dockerode";
import type { ObjectStore } from "@nats-io/obj";
import { NotFoundError } from "../../model/errors.ts";
import { fromStore } from "../store/store-errors.ts";
import { translateDockerError } from "./containers.ts";

/**
 * Makes sure the local dockerd has exactly image `imageId` (what the deploy planned with for
 * `image`): present already, or loaded from the cluster's image store (`ployzctl image push`),
 * also when the local tag points at an older image of the same name. No registry is contacted.
 */
export async function ensureImage(docker: Docker, images: ObjectStore, image: string, imageId: string, machineId: string): Promise<"present" | "loaded"> {
  if ((await localImageId(docker, imageId)) === imageId) return "present";
  const info = await fromStore(`image ${image} in the cluster image store`, () => images.info(imageObjectName(image)));
  if (!info || info.deleted) {
    throw new NotFoundError(`image ${image} (${imageId.slice(0, 19)}) is neither in machine ${machineId}'s dockerd nor in the cluster image store`, {
      hint: `push it with \`ployzctl image push ${image}\``,
    });
  }
  if (info.metadata?.imageId !== imageId) {
    throw new NotFoundError(`image ${image} in the cluster image store is ${info.metadata?.imageId?.slice(0, 19) ?? "of unknown id"}, not ${imageId.slice(0, 19)} that this deploy planned with`, {
      hint: "it was pushed again since; deploy again to plan with the new one",
    });
  }
  const result = await fromStore(`image ${image} in the cluster image store`, () => images.get(imageObjectName(image)));
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
  if ((await localImageId(docker, imageId)) !== imageId) throw new NotFoundError(`the archive stored as ${image} did not contain image ${imageId.slice(0, 19)}`);
  return "loaded";
}

/** The id of an image (by reference or id) in this dockerd, or null when it has none. */
export async function localImageId(docker: Docker, image: string): Promise<string | null> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return null;
    throw translateDockerError(error, `image ${image}`);
  }
}

/** The object name an image is stored under in the `images` object store. */
export function imageObjectName(image: string): string {
  return image.includes(":") || image.includes("@") ? image : `${image}:latest`;
}
