import type { ObjectStore } from "@nats-io/obj";
import { NotFoundError } from "../../model/errors.ts";
import { imageObjectName } from "../docker/ensure-image.ts";
import { fromStore } from "../store/store-errors.ts";
import type { Participants } from "./participants.ts";

/**
 * The exact image every reference of a spec runs as, now: the image id recorded when it was
 * pushed to the cluster's image store, else the id in this machine's dockerd. `pinned` ids (a
 * rollback's or a repair's: the head's own images) are kept as they are. An image pushed again
 * under the same tag therefore resolves to a new id, a new revision, and is redeployed.
 */
export async function resolveImages(images: ObjectStore, participants: Participants, machineId: string, refs: string[], pinned: Record<string, string> = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const ref of [...new Set(refs)].sort()) {
    const pin = pinned[ref];
    if (pin) {
      out[ref] = pin;
      continue;
    }
    const info = await fromStore(`image ${ref} in the cluster image store`, () => images.info(imageObjectName(ref)));
    if (info && !info.deleted) {
      const id = info.metadata?.imageId;
      if (!id) {
        throw new NotFoundError(`image ${ref} in the cluster image store was pushed by an older ployzctl and carries no image id`, { hint: `push it again: \`ployzctl image push ${ref}\`` });
      }
      out[ref] = id;
      continue;
    }
    const local = await participants.image(machineId, ref);
    if (!local.id) {
      throw new NotFoundError(`image ${ref} is neither in the cluster image store nor in machine ${machineId}'s dockerd`, { hint: `push it with \`ployzctl image push ${ref}\`` });
    }
    out[ref] = local.id;
  }
  return out;
}
