import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectAsMachine } from "../harness/daemon.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { startStubMachine } from "../harness/stub-machine.ts";

let cluster: TestCluster;
let nc: NatsConnection;
beforeAll(async () => {
  cluster = await startTestCluster();
  nc = await connectAsMachine(cluster.home);
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
