import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { readContext } from "../../runtime/context.ts";
import { openStore, type Store } from "../../runtime/store.ts";
import { readInstancesDoc, readNamespaceRecord, readNamespaceRouting } from "../../actors/deploy/derived-store.ts";
import { LEASE_TTL_MS } from "../../model/store-layout.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";
import { BUSYBOX_IMAGE } from "../harness/docker.ts";
import { startCoordinatorProcess, type CoordinatorProcess } from "../harness/coordinator.ts";
import { connectAsMachine, eventually } from "../harness/daemon.ts";

/**
 * A coordinator frozen (SIGSTOP, in a process of its own) past its lease while another deploy
 * takes the namespace: when it wakes up, whatever it writes is refused, and the later deploy's
 * state stands.
 */

let cluster: TestCluster;
let nc: NatsConnection;
let store: Store;
const coordinators: CoordinatorProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ extraArgs: ["--reconcile-interval-ms", "1000"] });
  nc = await connectAsMachine(cluster.home);
  store = await openStore(nc);
  // The frozen coordinator is no participant: it learns the image's id from the cluster's image store.
  const pushed = await cluster.home.cli("image", "push", BUSYBOX_IMAGE);
  expect(pushed.code, pushed.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  for (const c of coordinators) c.dispose();
  await nc?.close();
  await cluster?.dispose();
});

const specOf = (ns: string, body: string) => aNamespaceSpec(ns, { web: httpService(body, { replicas: 2, routes: [{ hostnames: [`${ns}.fence.test`], port: 8080 }] }) });

function pausedCoordinator(ns: string, body: string, faults: string): CoordinatorProcess {
  const coordinator = startCoordinatorProcess(readContext(cluster.home.env, "dev"), specOf(ns, body), { holder: "frozen-coordinator", faults });
  coordinators.push(coordinator);
  return coordinator;
}

/** Waits until the frozen coordinator's lease has expired in the store (its holder renews nothing). */
async function leaseExpired(ns: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS - 2_000));
  await eventually(async () => ((await store.kv.leases.get(`deploy.${ns}`))?.operation === "PUT" ? undefined : true), "the frozen coordinator's lease to expire", 20_000);
}

/** Everything derived in the store says commit `seq`, and the gateway serves `body`. */
async function expectState(ns: string, seq: number, body: string): Promise<void> {
  expect((await readInstancesDoc(store.kv.instances, ns)).value?.commitSeq).toBe(seq);
  expect((await readNamespaceRecord(store.kv.namespaces, ns))?.headSeq).toBe(seq);
  const routing = await readNamespaceRouting(store.jsm, ns);
  expect(routing.map((r) => r.record?.commitSeq)).toEqual([seq]);
  const ps = await cluster.client.ps(ns);
  expect(ps.instances.map((i) => i.commitSeq)).toEqual([seq, seq]);
  for (const i of ps.instances) expect(await httpGet(i.address!)).toBe(body);
  expect((await cluster.containersOf(ns)).map((c) => c.Id).sort()).toEqual(ps.instances.map((i) => i.containerId).sort());
  expect(await viaGateway(cluster.gateway, `${ns}.fence.test`)).toEqual({ status: 200, body });
}

describe("a coordinator frozen past its lease", () => {
  it("frozen after its commit, in the middle of its derived writes: woken, its writes are refused and the later deploy's state stands", async () => {
    const ns = cluster.namespace("frozen-after");
    await cluster.client.deploy({ spec: specOf(ns, "one") });

    // It commits "two", the instance records are written (by it, or by the reconciler first), and it freezes before routing.
    const frozen = pausedCoordinator(ns, "two", "rollforward.before-routing:stop");
    await frozen.stopped();
    const two = (await cluster.client.history(ns)).commits.at(-1)!;
    expect(two.deployId).toBe(frozen.lines.find((l) => l.type === "accepted")!.deployId);
    await leaseExpired(ns);

    // Another deploy takes the namespace, commits "three" and rolls it forward.
    const three = await cluster.client.deploy({ spec: specOf(ns, "three") });
    expect(three.type).toBe("deployed");
    await eventually(async () => ((await cluster.containersOf(ns)).length === 2 ? true : undefined), "the later deploy's drain");
    await expectState(ns, three.commitSeq!, "three");

    frozen.resume();
    const outcome = await frozen.outcome;
    // Its commit had landed: the deploy is done, but nothing it wrote afterwards stood.
    expect(outcome.type).toBe("deployed");
    expect("warnings" in outcome ? outcome.warnings.join("\n") : "").toMatch(new RegExp(`derived from commit ${two.seq} not written: the store holds them from commit ${three.commitSeq}`));
    await expectState(ns, three.commitSeq!, "three");
  }, 90_000);

  it("frozen before its commit: woken, its commit is fenced out, it changes nothing, and the later deploy's state stands", async () => {
    const ns = cluster.namespace("frozen-before");
    const one = await cluster.client.deploy({ spec: specOf(ns, "one") });

    // Its candidates are started and ready; it freezes as it is about to commit.
    const frozen = pausedCoordinator(ns, "two", "deploy.before-commit:stop");
    await frozen.stopped();
    expect((await cluster.containersOf(ns)).length).toBe(4); // its two candidates run beside the committed two
    await leaseExpired(ns);

    const three = await cluster.client.deploy({ spec: specOf(ns, "three") });
    expect(three.type).toBe("deployed");
    await eventually(async () => ((await cluster.containersOf(ns)).length === 2 ? true : undefined), "the later deploy's drain");
    await expectState(ns, three.commitSeq!, "three");

    frozen.resume();
    const outcome = await frozen.outcome;
    expect(outcome).toMatchObject({ type: "failed", code: "fenced" });
    expect(outcome.type === "failed" && outcome.reason).toMatch(new RegExp(`may not commit: fence \\d+ of namespace ${ns} is stale`));
    const history = await cluster.client.history(ns);
    expect(history.commits.map((c) => c.seq)).toEqual([one.commitSeq, three.commitSeq]);
    await expectState(ns, three.commitSeq!, "three");
  }, 90_000);
});
