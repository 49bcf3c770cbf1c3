import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeContainer } from "../../actors/docker/remove-container.ts";
import { createDocker } from "../../runtime/docker.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage, removeTestContainers } from "../harness/docker.ts";

const run = randomBytes(4).toString("hex");
const docker = createDocker();

beforeAll(() => ensureBusyboxImage());
afterAll(async () => {
  await removeTestContainers(docker, run);
});

describe("removeContainer (real Docker)", () => {
  it("gives a container its own stop timeout (a service's stop_grace_period) rather than the caller's", async () => {
    // PID 1 ignores SIGTERM, so only the SIGKILL after the timeout stops it. With the caller's
    // 600 s this test would run into its own timeout; with the container's 1 s it is killed.
    const container = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ["/bin/sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
      Labels: { "ployz.test": run },
      StopTimeout: 1,
    } as Parameters<typeof docker.createContainer>[0]);
    await container.start();
    expect(await removeContainer(docker, container.id, 600)).toBe(true);
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 30_000);

  it("is false for a container that does not exist", async () => {
    expect(await removeContainer(docker, `ployz-test-none-${run}`, 1)).toBe(false);
  });
});
