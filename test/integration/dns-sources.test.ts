import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { ClusterSources } from "../../actors/dns/cluster-sources.ts";
import { LABELS } from "../../model/instance.ts";
import { createDocker } from "../../runtime/docker.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage, removeTestContainers } from "../harness/docker.ts";

/**
 * Which sources the cluster DNS trusts, asked of a real dockerd: containers this test creates,
 * labelled for a cluster id of its own (so no other cluster's containers count), and a dockerd
 * that is not there at all.
 */

const run = `dnssrc-${randomBytes(3).toString("hex")}`;
const clusterId = `test-${run}`;
const docker = createDocker();

function capturedLog() {
  const lines: Array<{ level: number; msg: string }> = [];
  return { log: pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) }), warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

async function aRunningContainer(labels: Record<string, string>): Promise<{ id: string; address: string }> {
  const container = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ["sleep", "600"], Labels: { ...labels, "ployz.test": run }, HostConfig: { Init: true } });
  await container.start();
  const info = await container.inspect();
  return { id: container.id, address: info.NetworkSettings.Networks.bridge!.IPAddress };
}

afterAll(async () => {
  await removeTestContainers(docker, run);
}, 60_000);

describe("ClusterSources with a real dockerd", () => {
  it("trusts the cluster's running containers, asking dockerd about an address it did not know, and no one else", async () => {
    ensureBusyboxImage();
    const sources = new ClusterSources({ docker, clusterId, log: capturedLog().log });
    const ours = await aRunningContainer({ [LABELS.managed]: "true", [LABELS.cluster]: clusterId, [LABELS.namespace]: "shop" });
    const stranger = await aRunningContainer({});
    const otherCluster = await aRunningContainer({ [LABELS.managed]: "true", [LABELS.cluster]: `${clusterId}-other`, [LABELS.namespace]: "shop" });

    // never listed yet: the first answer needs dockerd
    const first = sources.trusts(ours.address);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(sources.trusts(ours.address)).toBe(true); // known now: answered at once
    expect(await sources.trusts(stranger.address)).toBe(false);
    expect(sources.trusts(stranger.address)).toBe(false); // refused without asking again
    expect(await sources.trusts(otherCluster.address)).toBe(false);

    // gone from dockerd: not trusted after the next listing
    await docker.getContainer(ours.id).remove({ force: true });
    await sources.refresh();
    expect(await sources.trusts(ours.address)).toBe(false);
  });

  it("trusts this host's loopback and interface addresses", async () => {
    const sources = new ClusterSources({ docker, clusterId, log: capturedLog().log });
    expect(sources.trusts("127.0.0.1")).toBe(true);
    const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
    for (const address of addresses) expect(await sources.trusts(address), address).toBe(true);
  });
});

describe("ClusterSources without dockerd", () => {
  const absent = createDocker({ ...process.env, DOCKER_HOST: `unix:///tmp/${run}-no-dockerd.sock` });

  it("still trusts this host, refuses every address it cannot check, and warns once", async () => {
    const { log, warnings } = capturedLog();
    const sources = new ClusterSources({ docker: absent, clusterId, log });
    expect(await sources.trusts("172.17.0.250")).toBe(false);
    expect(await sources.trusts("172.17.0.251")).toBe(false);
    const hostAddress = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal)?.address;
    if (hostAddress) expect(await sources.trusts(hostAddress)).toBe(true);
    expect(warnings()).toEqual(["cannot list this cluster's containers; the DNS refuses addresses it does not know until dockerd answers"]);
  });

  it("keeps trying to follow dockerd's events, looking for the bridge before every attempt, until stopped; warns once", async () => {
    const { log, warnings } = capturedLog();
    const sources = new ClusterSources({ docker: absent, clusterId, log });
    const stop = new AbortController();
    let attempts = 0;
    const following = sources.follow(stop.signal, async () => {
      if (++attempts === 3) stop.abort();
    });
    await following;
    expect(attempts).toBe(3);
    expect(warnings().filter((w) => w.startsWith("cannot follow dockerd's container events"))).toHaveLength(1);
  });
});
