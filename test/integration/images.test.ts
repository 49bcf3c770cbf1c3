import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE, buildMarkedImage } from "../harness/docker.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";

let cluster: TestCluster;
const tag = randomBytes(3).toString("hex");
const image = `ployz/test-pull:${tag}`;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
  await cluster?.docker.getImage(image).remove({ force: true }).catch(() => undefined);
});

describe("the cluster image store", () => {
  it("a pushed image is loaded by the participant when its dockerd lacks it", async () => {
    const id = await buildMarkedImage(cluster.docker, image, "first");
    const pushed = await cluster.home.cli("image", "push", image);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`pushed ${image} \\(\\d+(\\.\\d)? MiB\\) into the cluster image store`));

    // the machine's dockerd forgets it (the image itself, not only the tag); only the cluster store has it now
    await cluster.docker.getImage(id).remove({ force: true });
    await expect(cluster.docker.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const ns = cluster.namespace("pulled");
    const result = await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("from the store", { image }) }) });
    expect(result.type).toBe("deployed");
    const ps = await cluster.client.ps(ns);
    expect(await httpGet(ps.instances[0]!.address!)).toBe("from the store");
    await expect(cluster.docker.getImage(image).inspect()).resolves.toMatchObject({ RepoTags: expect.arrayContaining([image]) });
    const log = (await import("node:fs")).readFileSync(`${cluster.home.dataDir}/logs/ployzd.log`, "utf8");
    expect(log).toContain("image loaded from the cluster image store");
    const running = await cluster.containersOf(ns);
    expect((await cluster.docker.getContainer(running[0]!.Id).inspect()).Image).toBe(id);
  });

  it("an image pushed again under the same tag is a new revision: the same spec redeploys onto it, and a rollback brings the old one back", async () => {
    const ref = `ployz/test-repush:${tag}`;
    const ns = cluster.namespace("repush");
    const spec = aNamespaceSpec(ns, { web: httpService("same spec", { image: ref, command: ["/bin/sh", "-c", "mkdir -p /www && cp /marker /www/index.html && exec httpd -f -p 8080 -h /www"] }) });
    try {
      const v1 = await buildMarkedImage(cluster.docker, ref, "one");
      expect((await cluster.home.cli("image", "push", ref)).code).toBe(0);
      const first = await cluster.client.deploy({ spec });
      expect(first.type).toBe("deployed");
      const before = await cluster.client.ps(ns);
      expect(await httpGet(before.instances[0]!.address!)).toBe("one");

      // the machine keeps the old image under the tag; the store gets a new one
      const v2 = await buildMarkedImage(cluster.docker, `${ref}-two`, "two");
      await cluster.docker.getImage(v2).tag({ repo: ref.split(":")[0]!, tag: ref.split(":")[1]! });
      expect((await cluster.home.cli("image", "push", ref)).code).toBe(0);
      await cluster.docker.getImage(v1).tag({ repo: ref.split(":")[0]!, tag: ref.split(":")[1]! }); // the local tag points back at the old one

      const second = await cluster.client.deploy({ spec });
      expect(second.type).toBe("deployed");
      const after = await cluster.client.ps(ns);
      expect(after.instances[0]!.revision).not.toBe(before.instances[0]!.revision);
      expect(await httpGet(after.instances[0]!.address!)).toBe("two");
      expect((await cluster.docker.getContainer(after.instances[0]!.containerId).inspect()).Image).toBe(v2);
      // the same spec again changes nothing
      expect((await cluster.client.deploy({ spec })).type).toBe("unchanged");

      // rolling back runs the image the old commit ran, not what the tag says today
      const back = await cluster.client.rollback(ns, first.commitSeq);
      expect(back.type).toBe("deployed");
      const rolled = await cluster.client.ps(ns);
      expect(await httpGet(rolled.instances[0]!.address!)).toBe("one");
      expect(rolled.instances[0]!.revision).toBe(before.instances[0]!.revision);
    } finally {
      for (const r of [ref, `${ref}-two`]) await cluster.docker.getImage(r).remove({ force: true }).catch(() => undefined);
    }
  });

  it("refuses to push an image this computer does not have", async () => {
    const result = await cluster.home.cli("image", "push", "ployz/not-here:1");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("image ployz/not-here:1 is not in this computer's dockerd");
  });

  it("streams a service's logs from every instance", async () => {
    const ns = cluster.namespace("logs");
    const echo = { image: BUSYBOX_IMAGE, command: ["/bin/sh", "-c", "echo started-$HOSTNAME; exec sleep 300"], replicas: 2 };
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { worker: echo }) });
    const result = await cluster.home.cli("logs", "-n", ns, "worker");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n").sort();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^worker#0@${cluster.machineId} \\| started-`));
    expect(lines[1]).toMatch(new RegExp(`^worker#1@${cluster.machineId} \\| started-`));
    const unknown = await cluster.home.cli("logs", "-n", ns, "nosuch");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`namespace ${ns} has no instances of service nosuch`);
  });
});
