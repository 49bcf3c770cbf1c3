import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { volumeName } from "../../model/instance.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";
import { BUSYBOX_IMAGE, execIn } from "../harness/docker.ts";
import { eventually } from "../harness/daemon.ts";

/**
 * What the reconciler repairs on its own (a killed instance, addresses that moved), what only
 * the namespace's own containers are (volumes, the cluster id), and removing a namespace.
 */

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ extraArgs: ["--reconcile-interval-ms", "1000"] });
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

const routed = (ns: string, body: string, overrides: Parameters<typeof httpService>[1] = {}) =>
  aNamespaceSpec(ns, { web: httpService(body, { replicas: 2, routes: [{ hostnames: [`${ns}.repair.test`], port: 8080 }], ...overrides }) });

/** The addresses the gateway and the DNS route `ns/web` to now, each sorted. */
async function routedAddresses(ns: string): Promise<{ gateway: string[]; dns: string[] }> {
  const routes = await cluster.client.routes();
  const consumers = routes.machines.flatMap((m) => (m.ok ? m.consumers : []));
  const of = (kind: "gateway" | "dns") => [...(consumers.find((c) => c.kind === kind)?.services.find((s) => s.namespace === ns && s.service === "web")?.backends ?? [])].sort();
  return { gateway: of("gateway"), dns: of("dns") };
}

describe("the reconciler", () => {
  it("docker kill of a routed instance: it leaves routing at once and is replaced", async () => {
    const ns = cluster.namespace("killed");
    await cluster.client.deploy({ spec: routed(ns, "alive") });
    const before = await cluster.client.ps(ns);
    const victim = before.instances[0]!;

    await cluster.docker.getContainer(victim.containerId).kill();
    // out of routing (before any replacement is ready)
    await eventually(async () => {
      const r = await routedAddresses(ns);
      return r.gateway.includes(victim.address!) || r.dns.includes(victim.address!) ? undefined : r;
    }, "the killed instance to leave routing");

    // replaced: a new commit (the same spec) whose reason says why, two running instances, routed
    const after = await eventually(async () => {
      const ps = await cluster.client.ps(ns);
      const ok = ps.instances.length === 2 && ps.instances.every((i) => i.live.ok && i.live.state === "running" && i.address) && !ps.instances.some((i) => i.containerId === victim.containerId);
      return ok ? ps : undefined;
    }, "the killed instance to be replaced");
    const history = await cluster.client.history(ns);
    expect(history.commits.at(-1)!.reason).toMatch(new RegExp(`^reconcile: web#${victim.slot} on \\S+ exited \\(137\\)`));
    expect(after.instances.map((i) => i.revision)).toEqual(before.instances.map((i) => i.revision));
    expect(after.instances.find((i) => i.slot === before.instances[1]!.slot)!.containerId).toBe(before.instances[1]!.containerId);
    await eventually(async () => {
      const r = await routedAddresses(ns);
      const want = after.instances.map((i) => i.address!).sort();
      return JSON.stringify(r.gateway) === JSON.stringify(want) && JSON.stringify(r.dns) === JSON.stringify(want) ? true : undefined;
    }, "the replacement to be routed");
    // the dead container goes too (once routing moved past it): nothing the head does not name
    const named = after.instances.map((i) => i.containerId).sort();
    await eventually(async () => (JSON.stringify((await cluster.containersOf(ns)).map((c) => c.Id).sort()) === JSON.stringify(named) ? true : undefined), "the dead container to be removed");
    expect(await viaGateway(cluster.gateway, `${ns}.repair.test`)).toEqual({ status: 200, body: "alive" });
  });

  it("instances whose addresses moved (as after a dockerd restart) are routed at their new addresses; restart: no is not replaced", async () => {
    const ns = cluster.namespace("moved");
    await cluster.client.deploy({ spec: routed(ns, "moved", { restart: "no" }) });
    const before = await cluster.client.ps(ns);
    const [a] = before.instances;
    // a stops; something else takes its address while it is down; it comes back elsewhere
    await cluster.docker.getContainer(a!.containerId).stop({ t: 0 });
    const fillers: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const filler = await cluster.docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ["sleep", "60"], Labels: { "ployz.test": "address-filler" }, HostConfig: { AutoRemove: false } });
        fillers.push(filler.id);
        await filler.start();
        const info = await filler.inspect();
        if (Object.values(info.NetworkSettings.Networks ?? {}).some((n) => n.IPAddress === a!.address)) break;
      }
      await cluster.docker.getContainer(a!.containerId).start();
    } finally {
      for (const id of fillers) await cluster.docker.getContainer(id).remove({ force: true });
    }
    const now = await cluster.client.ps(ns);
    const addresses = now.instances.map((i) => i.address!).sort();
    expect(now.instances.find((i) => i.containerId === a!.containerId)!.address).not.toBe(a!.address);
    await eventually(async () => {
      const r = await routedAddresses(ns);
      return JSON.stringify(r.gateway) === JSON.stringify(addresses) ? true : undefined;
    }, "routing to follow the new addresses");
    // nothing was replaced: same containers, same commit
    expect(now.instances.map((i) => i.containerId)).toEqual(before.instances.map((i) => i.containerId));
    expect((await cluster.client.history(ns)).commits).toHaveLength(1);
  });

  it("a redeploy of the same spec replaces an instance that is dead, whatever its restart policy", async () => {
    const ns = cluster.namespace("redeploy-dead");
    const spec = routed(ns, "once", { restart: "no", replicas: 1 });
    await cluster.client.deploy({ spec });
    const before = await cluster.client.ps(ns);
    await cluster.docker.getContainer(before.instances[0]!.containerId).kill();
    await eventually(async () => ((await routedAddresses(ns)).gateway.length === 0 ? true : undefined), "the dead instance to leave routing");
    expect((await cluster.client.history(ns)).commits).toHaveLength(1); // restart: no — the reconciler does not replace it
    const again = await cluster.client.deploy({ spec });
    expect(again.type).toBe("deployed");
    expect(again.lines.join("\n")).toMatch(/replaces a dead instance \(its container exited \(137\)\)/);
    const after = await cluster.client.ps(ns);
    expect(await httpGet(after.instances[0]!.address!)).toBe("once");
  });
});

describe("what belongs to a namespace", () => {
  it("namespaces X-b with volume c and X with volume b-c keep separate data (the old ployz-<ns>-<volume> names collided)", async () => {
    const second = cluster.namespace("vol"); // X
    const first = `${second}-b`; // X-b
    const writer = (ns: string, volume: string) =>
      aNamespaceSpec(ns, { app: { image: BUSYBOX_IMAGE, command: ["/bin/sh", "-c", "exec sleep 300"], volumes: [{ type: "volume", source: volume, target: "/data" }] } }, { volumes: { [volume]: {} } });
    try {
      await cluster.client.deploy({ spec: writer(first, "c") });
      await cluster.client.deploy({ spec: writer(second, "b-c") });
      expect(`ployz-${first}-c`).toBe(`ployz-${second}-b-c`); // what the old scheme made of them
      const [one] = (await cluster.client.ps(first)).instances;
      const [two] = (await cluster.client.ps(second)).instances;
      expect((await execIn(cluster.docker, one!.containerId, ["/bin/sh", "-c", "echo mine > /data/file"])).code).toBe(0);
      expect((await execIn(cluster.docker, two!.containerId, ["/bin/sh", "-c", "cat /data/file"])).code).not.toBe(0);
      expect((await cluster.docker.getContainer(one!.containerId).inspect()).Mounts.map((m) => m.Name)).toEqual([volumeName(first, "c")]);
      expect((await cluster.docker.getContainer(two!.containerId).inspect()).Mounts.map((m) => m.Name)).toEqual([volumeName(second, "b-c")]);
    } finally {
      for (const [ns, volume] of [[first, "c"], [second, "b-c"]] as const) {
        await cluster.client.namespaceRm(ns).catch(() => undefined);
        await eventually(async () => ((await cluster.containersOf(ns)).length === 0 ? true : undefined), `${ns}'s containers to go`);
        await cluster.docker.getVolume(volumeName(ns, volume)).remove();
      }
    }
  });

  it("another cluster on the same dockerd never sees or removes this one's containers", async () => {
    const other = await startTestCluster({ extraArgs: ["--reconcile-interval-ms", "1000"] });
    try {
      const ns = cluster.namespace("shared-name");
      await cluster.client.deploy({ spec: routed(ns, "mine") });
      await other.client.deploy({ spec: routed(ns, "theirs") });
      const mine = (await cluster.client.ps(ns)).instances.map((i) => i.containerId).sort();
      const theirs = (await other.client.ps(ns)).instances.map((i) => i.containerId).sort();
      expect(mine).toHaveLength(2);
      expect(theirs).toHaveLength(2);
      // each cluster's settle saw only its own: nothing of the other was a leftover
      await other.client.namespaceRm(ns);
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // two reconcile intervals of each
      const still = (await cluster.client.ps(ns)).instances;
      expect(still.map((i) => i.containerId).sort()).toEqual(mine);
      expect(still.every((i) => i.live.ok && i.live.state === "running")).toBe(true);
      for (const c of theirs) await expect(cluster.docker.getContainer(c).inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await other.dispose();
    }
  }, 90_000);

  it("namespace rm removes instances and routes, keeps the history, and a later deploy starts it again", async () => {
    const ns = cluster.namespace("removed");
    const first = await cluster.client.deploy({ spec: routed(ns, "here") });
    expect((await viaGateway(cluster.gateway, `${ns}.repair.test`)).status).toBe(200);

    const refused = await cluster.home.cli("namespace", "rm", ns);
    expect(refused.code).toBe(2); // a usage error
    expect(refused.stderr).toContain(`namespace rm ${ns} removes every instance and route of it: add --yes to confirm`);
    expect((await cluster.containersOf(ns)).length).toBe(2);

    const removed = await cluster.home.cli("namespace", "rm", ns, "--yes");
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(new RegExp(`removed namespace ${ns}: commit \\d+`));
    await eventually(async () => ((await cluster.containersOf(ns)).length === 0 ? true : undefined), "the namespace's containers to go");
    expect((await cluster.client.ps(ns)).instances).toEqual([]);
    await eventually(async () => ((await viaGateway(cluster.gateway, `${ns}.repair.test`)).status === 404 ? true : undefined), "the route to go");
    const history = await cluster.client.history(ns);
    expect(history.commits.map((c) => c.kind)).toEqual(["commit", "removal"]);
    expect(history.commits[0]!.seq).toBe(first.commitSeq);

    const again = await cluster.home.cli("namespace", "rm", ns, "--yes");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`namespace ${ns} is already removed`);
    const unknown = await cluster.home.cli("namespace", "rm", "never-deployed-ns", "--yes");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("namespace never-deployed-ns has no commits");

    const back = await cluster.client.deploy({ spec: routed(ns, "back") });
    expect(back.type).toBe("deployed");
    await eventually(async () => ((await viaGateway(cluster.gateway, `${ns}.repair.test`)).body === "back" ? true : undefined), "the namespace to be served again");
  });
});

describe("the API checks what a client claims", () => {
  it("a deploy that says it rolls back to a commit must carry exactly that commit's spec", async () => {
    const ns = cluster.namespace("forged");
    const one = await cluster.client.deploy({ spec: routed(ns, "one") });
    await cluster.client.deploy({ spec: routed(ns, "two") });
    const client = await connectClient(readContext(cluster.home.env, "dev"));
    try {
      await expect(client.deploy({ spec: routed(ns, "three"), rollbackOf: one.commitSeq })).rejects.toMatchObject({
        code: "invalid-argument",
        message: expect.stringContaining(`rollbackOf ${one.commitSeq}: the spec sent is not the spec of that commit`),
      });
      await expect(client.deploy({ spec: routed(ns, "one"), rollbackOf: 99_999 })).rejects.toMatchObject({ code: "not-found" });
      const honest = await client.deploy({ spec: routed(ns, "one"), rollbackOf: one.commitSeq });
      expect(honest.type).toBe("deployed");
      expect((await cluster.client.history(ns)).commits.at(-1)!.rollbackOf).toBe(one.commitSeq);
    } finally {
      await client.close();
    }
  });
});
