import { Readable } from "node:stream";
import type Docker from "dockerode";
import type { NatsConnection } from "@nats-io/transport-node";
import { imageObjectName } from "../actors/docker/ensure-image.ts";
import { translateDockerError } from "../actors/docker/containers.ts";
import { NotFoundError } from "../model/errors.ts";
import { openImages } from "./store.ts";

/**
 * `ployzctl image push`: `docker save` of a local image into the cluster's `images` object store,
 * from where every participant can load it. No registry involved.
 */
export async function pushImage(nc: NatsConnection, image: string, env: NodeJS.ProcessEnv = process.env): Promise<{ image: string; bytes: number; digest: string; imageId: string }> {
  const docker = await loadDocker(env);
  let imageId: string;
  try {
    imageId = (await docker.getImage(image).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new NotFoundError(`image ${image} is not in this computer's dockerd`, { hint: "build or import it first (`docker images` lists what is there)" });
    }
    throw translateDockerError(error, `image ${image}`);
  }
  const store = await openImages(nc);
  const archive = (await docker.getImage(image).get()) as unknown as Readable;
  // The image id goes with it: deploys plan with it, and participants load it when theirs differs.
  const info = await store.images.put(
    { name: imageObjectName(image), description: `docker save ${image}`, metadata: { imageId } },
    Readable.toWeb(archive) as ReadableStream<Uint8Array>,
  );
  return { image: imageObjectName(image), bytes: info.size, digest: info.digest, imageId };
}

async function loadDocker(env: NodeJS.ProcessEnv): Promise<Docker> {
  const { createDocker } = await import("./docker.ts");
  return createDocker(env);
}
