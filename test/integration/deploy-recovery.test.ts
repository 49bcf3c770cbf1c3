import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { devUp } from "../../runtime/dev.ts";
import { connectClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { isAlive } from "../../runtime/process.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { connectAsOperator, eventually, readPid } from "../harness/daemon.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { startStubMachine } from "../harness/stub-machine.ts";

let cluster: TestCluster;
let nc: NatsConnection;
beforeAll(async () => {
  cluster = await startTestCluster();
  nc = await connectAsOperator(cluster.home);
}, 120_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.dispose();
});

describe("a participant that is gone", () => {
  it("fails the deploy at once with no responder, removes the candidates and leaves the old version running", async () => {
    const ns = cluster.namespace("gone");
    const pin = (machine: string) => ({ placement: { machines: [machine] } });
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("old", pin(cluster.machineId)), api: httpService("api-old", pin(cluster.machineId)) }) });
    const before = (await cluster.containersOf(ns)).map((c) => c.Id).sort();

    // "stub-gone" answers observations and locks, then is gone when asked to start a container.
    const stub = await startStubMachine(nc, "stub-gone", ["observe.capacity", "observe.instances", "lock.acquire", "lock.release"]);
    try {
      // api changes and stays here (its candidate starts first), web moves to the gone machine.
      const next = aNamespaceSpec(ns, {
        api: httpService("api-new", pin(cluster.machineId)),
        web: { ...httpService("new", pin("stub-gone")), dependsOn: ["api"] },
      });
      const error = await cluster.client.deploy({ spec: next }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "deploy-failed" });
      expect((error as Error).message).toMatch(/failed in phase start: no responder for ployz\.m\.stub-gone\.container\.start: machine stub-gone is not serving it/);
      expect(stub.requests).toContain("lock.acquire");
      expect(stub.requests).toContain("lock.release");
    } finally {
      await stub.dispose();
    }
    // the api candidate that did start was removed again; the old instances are untouched
    expect((await cluster.containersOf(ns)).map((c) => c.Id).sort()).toEqual(before);
    const ps = await cluster.client.ps(ns);
    expect((await Promise.all(ps.instances.map((i) => httpGet(i.address!)))).sort()).toEqual(["api-old", "old"]);
  });
});

describe("region roles", () => {
  it("draining the only region tries to move instances off, fails loudly with the reason, and leaves them running", async () => {
    const ns = cluster.namespace("drain");
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("stay") }) });
    const before = (await cluster.containersOf(ns)).map((c) => c.Id);
    try {
      const reply = await cluster.client.regionSet("local", "draining");
      const mine = reply.redeployed.find((r) => r.namespace === ns);
      expect(mine).toMatchObject({ outcome: "failed" });
      expect(mine!.detail).toMatch(/cannot place web#0: .*region local is draining, no new instances/);
      expect((await cluster.client.regionLs()).regions).toContainEqual({ name: "local", role: "draining", explicit: true, machines: [cluster.machineId] });
      // a new namespace cannot land there either
      const other = cluster.namespace("drain-new");
      await expect(cluster.client.deploy({ spec: aNamespaceSpec(other, { web: httpService("x") }) })).rejects.toThrow(/region local is draining/);
      expect((await cluster.containersOf(ns)).map((c) => c.Id)).toEqual(before);
    } finally {
      await cluster.client.regionSet("local", "compute");
    }
    expect((await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("stay") }) })).type).toBe("unchanged");
  });
});

// Last: it restarts the daemon, which closes the cluster client.
describe("a daemon killed in the middle of a deploy", () => {
  it("leaves its lease to expire; the next deploy succeeds and removes the orphans", async () => {
    const ns = cluster.namespace("killed");
    const slow = aNamespaceSpec(ns, { web: httpService("slow", { replicas: 2, readiness: { type: "http", port: 8080, startPeriod: "20s" } }) });
    const pending = cluster.client.deploy({ spec: slow }).then(
      () => "finished",
      (e: Error & { code?: string }) => e.code ?? e.message,
    );
    await eventually(async () => ((await cluster.containersOf(ns)).length === 2 ? true : undefined), "the candidates to start");
    const pid = daemonPid();
    process.kill(pid, "SIGKILL");
    await eventually(async () => (isAlive(pid) ? undefined : true), "ployzd to die");
    // the waiting client fails at once, naming the machine that stopped answering
    expect(await pending).toBe("coordinator-lost");
    expect((await cluster.containersOf(ns)).length).toBe(2); // orphans, for now

    await devUp({ dataDir: cluster.home.dataDir, env: cluster.home.env });
    const client = await connectClient(readContext(cluster.home.env, "dev"));
    try {
      // until the dead deploy's lease expires (bucket max age 15 s), deploys fail naming it
      const held = await client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("fresh") }) }).catch((e: Error & { code?: string }) => e);
      expect(held).toMatchObject({ code: "lease-held" });
      const result = await eventually(
        async () => client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("fresh") }) }).catch((e: Error & { code?: string }) => (e.code === "lease-held" ? undefined : Promise.reject(e))),
        "the dead deploy's lease to expire",
        40_000,
      );
      expect(result.type).toBe("deployed");
      expect(result.warnings?.filter((w) => w.startsWith("removed orphan"))).toHaveLength(2);
      const ps = await client.ps(ns);
      expect(ps.instances).toHaveLength(1);
      expect((await cluster.containersOf(ns)).map((c) => c.Id)).toEqual([ps.instances[0]!.containerId]);
      expect(await httpGet(ps.instances[0]!.address!)).toBe("fresh");
    } finally {
      await client.close();
    }
  }, 120_000);
});

function daemonPid(): number {
  return readPid(dataPaths(cluster.home.dataDir).daemonPid)!;
}
