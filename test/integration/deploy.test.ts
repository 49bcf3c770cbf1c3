import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDeployPhases } from "../../actors/deploy/deploy-status.ts";
import { RemoteError } from "../../model/errors.ts";
import { jetstreamHandles } from "../../runtime/store.ts";
import { connectAsMachine } from "../harness/daemon.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

async function phases(namespace: string) {
  const nc = await connectAsMachine(cluster.home);
  try {
    const { js, jsm } = await jetstreamHandles(nc);
    return await readDeployPhases(js, jsm, namespace);
  } finally {
    await nc.close();
  }
}

async function runningIds(namespace: string): Promise<string[]> {
  return (await cluster.containersOf(namespace)).map((c) => c.Id).sort();
}

describe("deploy pipeline (real NATS, real Docker)", () => {
  it("deploys, replaces on change, keeps history, and rolls back to the old spec", async () => {
    const ns = cluster.namespace("pipeline");
    const v1 = aNamespaceSpec(ns, { web: httpService("v1", { replicas: 2 }) });
    const first = await cluster.client.deploy({ spec: v1 });
    expect(first.type).toBe("deployed");
    expect(first.commitSeq).toBeGreaterThan(0);

    const ps1 = await cluster.client.ps(ns);
    expect(ps1.instances.map((i) => [i.service, i.slot, i.live.ok && i.live.state])).toEqual([
      ["web", 0, "running"],
      ["web", 1, "running"],
    ]);
    for (const i of ps1.instances) expect(await httpGet(i.address!)).toBe("v1");
    const r1 = ps1.instances[0]!.revision;

    // the same spec again changes nothing and writes no commit
    expect((await cluster.client.deploy({ spec: v1 })).type).toBe("unchanged");

    const v2 = aNamespaceSpec(ns, { web: httpService("v2", { replicas: 2 }) });
    const second = await cluster.client.deploy({ spec: v2 });
    expect(second.type).toBe("deployed");
    const ps2 = await cluster.client.ps(ns);
    expect(ps2.instances).toHaveLength(2);
    expect(ps2.instances.every((i) => i.revision !== r1)).toBe(true);
    for (const i of ps2.instances) expect(await httpGet(i.address!)).toBe("v2");
    // the old containers are gone: exactly the committed ones remain
    expect(await runningIds(ns)).toEqual(ps2.instances.map((i) => i.containerId).sort());

    const rollback = await cluster.client.rollback(ns);
    expect(rollback.type).toBe("deployed");
    const ps3 = await cluster.client.ps(ns);
    expect(ps3.instances.map((i) => i.revision)).toEqual([r1, r1]);
    for (const i of ps3.instances) expect(await httpGet(i.address!)).toBe("v1");

    const history = await cluster.client.history(ns);
    expect(history.commits.map((c) => [c.seq, c.rollbackOf ?? null, c.head])).toEqual([
      [first.commitSeq, null, false],
      [second.commitSeq, null, false],
      [rollback.commitSeq, first.commitSeq, true],
    ]);
  });

  it("scales down by removing the highest slots and keeping the rest", async () => {
    const ns = cluster.namespace("scale");
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("s", { replicas: 3 }) }) });
    const before = await cluster.client.ps(ns);
    const result = await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("s", { replicas: 1 }) }) });
    expect(result.lines.slice(1)).toEqual([expect.stringMatching(/^keep web#0/), expect.stringMatching(/^remove web#1/), expect.stringMatching(/^remove web#2/)]);
    const after = await cluster.client.ps(ns);
    expect(after.instances.map((i) => i.containerId)).toEqual([before.instances[0]!.containerId]);
    expect(await runningIds(ns)).toEqual([before.instances[0]!.containerId]);
  });

  it("previews without changing anything, and applies only the previewed plan", async () => {
    const ns = cluster.namespace("preview");
    const spec = aNamespaceSpec(ns, { web: httpService("p") });
    const preview = await cluster.client.deploy({ spec, preview: true });
    expect(preview.type).toBe("previewed");
    expect(preview.lines[0]).toMatch(new RegExp(`^plan ${preview.plan.hash} for ${ns}, first deploy: 1 to create`));
    expect(await runningIds(ns)).toEqual([]);
    await expect(cluster.client.history(ns)).rejects.toMatchObject({ code: "not-found" });

    const wrong = cluster.client.deploy({ spec, planHash: "000000000000" });
    await expect(wrong).rejects.toMatchObject({ code: "plan-changed", message: expect.stringContaining("the world changed since the preview: plan 000000000000 was previewed") });
    expect(await runningIds(ns)).toEqual([]);

    const applied = await cluster.client.deploy({ spec, planHash: preview.plan.hash });
    expect(applied.type).toBe("deployed");
    expect(applied.plan.hash).toBe(preview.plan.hash);
  });
});

describe("failures before commit leave the previous commit running and nothing behind", () => {
  async function deployedBaseline(prefix: string) {
    const ns = cluster.namespace(prefix);
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("old", { replicas: 2 }) }) });
    const before = await cluster.client.ps(ns);
    return { ns, before, ids: before.instances.map((i) => i.containerId).sort() };
  }

  async function expectUntouched(ns: string, ids: string[]) {
    expect(await runningIds(ns)).toEqual(ids);
    const ps = await cluster.client.ps(ns);
    expect(ps.instances.map((i) => i.containerId).sort()).toEqual(ids);
    for (const i of ps.instances) expect(await httpGet(i.address!)).toBe("old");
  }

  it("a readiness probe that never passes", async () => {
    const { ns, ids } = await deployedBaseline("notready");
    const broken = aNamespaceSpec(ns, {
      web: httpService("new", { replicas: 2, readiness: { type: "http", port: 9999, interval: "100ms", timeout: "200ms", retries: 3 } }),
    });
    const error = await cluster.client.deploy({ spec: broken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: "deploy-failed" });
    expect((error as Error).message).toMatch(new RegExp(`deploy \\S+ of namespace ${ns} failed in phase readiness: web#\\d on \\S+ did not become ready: .*readiness probe http :9999/ failed 3 times in a row`));
    expect((error as Error).message).toMatch(/commit \d+ is still what runs/);
    await expectUntouched(ns, ids);
    const failed = (await phases(ns)).filter((p) => p.state === "failed");
    expect(failed.at(-1)).toMatchObject({ phase: "readiness", reason: expect.stringContaining("did not become ready") });
  });

  it("an image that does not exist: refused while observing, before anything starts", async () => {
    const { ns, ids } = await deployedBaseline("noimage");
    const broken = aNamespaceSpec(ns, { web: httpService("new", { replicas: 2, image: "ployz/does-not-exist:1" }) });
    const error = await cluster.client.deploy({ spec: broken }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "deploy-failed" });
    expect((error as Error).message).toContain("failed in phase observe");
    expect((error as Error).message).toContain("image ployz/does-not-exist:1 is neither in the cluster image store nor in machine");
    await expectUntouched(ns, ids);
    expect((await phases(ns)).filter((p) => p.state === "failed").at(-1)).toMatchObject({ phase: "observe" });
  });

  it("a container that exits at once", async () => {
    const { ns, ids } = await deployedBaseline("crashing");
    const broken = aNamespaceSpec(ns, { web: httpService("new", { replicas: 2, command: ["/bin/sh", "-c", "echo boom; exit 3"], restart: "no" }) });
    const error = await cluster.client.deploy({ spec: broken }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/failed in phase readiness: .*exited with code 3 before it was ready; last output: boom/);
    await expectUntouched(ns, ids);
  });
});

describe("the namespace lease", () => {
  it("ten concurrent deploys of one namespace: exactly one succeeds, nine fail at once naming the holder", async () => {
    const ns = cluster.namespace("lease");
    const spec = aNamespaceSpec(ns, { web: httpService("l", { readiness: { type: "http", port: 8080, startPeriod: "1s", interval: "100ms" } }) });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cluster.client.deploy({ spec })));
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(9);
    for (const f of failed) {
      expect(f.reason).toMatchObject({ code: "lease-held" });
      expect((f.reason as Error).message).toMatch(new RegExp(`deploy lease for namespace ${ns} is held by ${cluster.machineId} \\(deploy \\S+, since \\S+\\)`));
    }
    expect((await cluster.client.history(ns)).commits).toHaveLength(1);
    expect(await runningIds(ns)).toHaveLength(1);
    // the refused deploys never touched the namespace: its Status holds the winner's phases only
    const deployIds = new Set((await phases(ns)).map((p) => p.deployId));
    expect([...deployIds]).toEqual([(ok[0] as PromiseFulfilledResult<{ deployId?: string }>).value.deployId]);
  });
});

describe("manifests over the API", () => {
  it("refuses an invalid spec sent straight to the API, changing nothing", async () => {
    const ns = cluster.namespace("invalid");
    const error = await cluster.client.deploy({ spec: { namespace: ns, services: { web: { image: "x", replicas: -1 } } } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "manifest-invalid" });
    expect((error as Error).message).toContain("services.web.replicas");
    expect(await runningIds(ns)).toEqual([]);
  });
});
