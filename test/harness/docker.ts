import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";

export const BUSYBOX_IMAGE = "ployz/busybox:local";
const BUILD = fileURLToPath(new URL("../../scripts/build-busybox-image.sh", import.meta.url));

/** Makes sure the local busybox image exists (built from Debian's busybox-static). */
export function ensureBusyboxImage(): void {
  execFileSync("bash", [BUILD], { stdio: ["ignore", "ignore", "inherit"] });
}

/** Removes every container carrying the label `ployz.test=<run>`, whatever its state. */
export async function removeTestContainers(docker: Docker, run: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`ployz.test=${run}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}
