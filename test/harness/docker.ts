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

/**
 * Makes an image of its own under `ref`: busybox plus a file `/marker` holding `marker`, so it
 * has an id no other image has (unlike a second tag of busybox). Returns that id.
 */
export async function buildMarkedImage(docker: Docker, ref: string, marker: string): Promise<string> {
  const [repo, tag] = ref.split(":") as [string, string];
  const container = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ["/bin/sh", "-c", `echo '${marker}' > /marker`], Labels: { "ployz.test": "marked-image" } });
  try {
    await container.start();
    await container.wait();
    await container.commit({ repo, tag });
  } finally {
    await container.remove({ force: true });
  }
  return (await docker.getImage(ref).inspect()).Id;
}

/** Runs `command` in a running container as its own user; returns the exit code and what it printed. */
export async function execIn(docker: Docker, containerId: string, command: string[]): Promise<{ code: number; output: string }> {
  const { demux } = await import("../../actors/docker/logs.ts");
  const exec = await docker.getContainer(containerId).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve());
    stream.on("error", reject);
  });
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, output: demux(Buffer.concat(chunks)).trim() };
}
