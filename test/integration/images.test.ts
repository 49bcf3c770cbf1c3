import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_IMAGE } from "../harness/docker.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";

let cluster: TestCluster;
const image = `ployz/test-pull:${randomBytes(3).toString("hex")}`;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
  await cluster?.docker.getImage(image).remove({ force: true }).catch(() => undefined);
});

describe("the cluster image store", () => {
  it("a pushed image is loaded by the participant when its dockerd lacks it", async () => {
    await cluster.docker.getImage(BUSYBOX_IMAGE).tag({ repo: image.split(":")[0]!, tag: image.split(":")[1]! });
    const pushed = await cluster.home.cli("image", "push", image);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`pushed ${image} \\(\\d+(\\.\\d)? MiB\\) into the cluster image store`));

    // the machine's dockerd forgets it; only the cluster store has it now
    await cluster.docker.getImage(image).remove();
    await expect(cluster.docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const ns = cluster.namespace("pulled");
    const result = await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("from the store", { image }) }) });
    expect(result.type).toBe("deployed");
    const ps = await cluster.client.ps(ns);
    expect(await httpGet(ps.instances[0]!.address!)).toBe("from the store");
    await expect(cluster.docker.getImage(image).inspect()).resolves.toMatchObject({ RepoTags: expect.arrayContaining([image]) });
    const log = (await import("node:fs")).readFileSync(`${cluster.home.dataDir}/logs/ployzd.log`, "utf8");
    expect(log).toContain("image loaded from the cluster image store");
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
