import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectClient, type PloyzClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { isAlive } from "../../runtime/process.ts";
import type { FaultPoint } from "../../actors/faults.ts";
import { aNamespaceSpec, httpGet, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";
import { eventually, readPid, startDevDaemon } from "../harness/daemon.ts";

/**
 * kill -9 of ployzd at each step of a deploy that replaces two routed instances. After a restart
 * (without the fault) the namespace must converge to its head commit on its own: the derived
 * records say what the head says, every instance runs and is routed, and no container is left
 * that the head does not name.
 */

const DAEMON_ARGS = ["--reconcile-interval-ms", "1000"];
let cluster: TestCluster;
let client: PloyzClient;

beforeAll(async () => {
  cluster = await startTestCluster({ faultInjection: true, extraArgs: DAEMON_ARGS });
  client = cluster.client;
}, 120_000);
afterAll(async () => {
  await client?.close().catch(() => undefined);
  await cluster?.dispose();
});

const specOf = (ns: string, body: string) =>
  aNamespaceSpec(ns, { web: httpService(body, { replicas: 2, routes: [{ hostnames: [`${ns}.crash.test`], port: 8080 }] }) });

function daemonPid(): number {
  return readPid(dataPaths(cluster.home.dataDir).daemonPid)!;
}

/** Restarts ployzd (gracefully, if it runs), armed with `faults` if given, and reconnects the client. */
async function restart(faults?: string, extraArgs: string[] = []): Promise<void> {
  await client.close().catch(() => undefined);
  const { devDown } = await import("../../runtime/dev.ts");
  await devDown({ dataDir: cluster.home.dataDir, timeoutMs: 20_000 });
  await startDevDaemon(cluster.home, { faultInjection: true, extraArgs: [...DAEMON_ARGS, ...extraArgs], ...(faults ? { env: { PLOYZ_FAULTS: faults } } : {}) });
  client = await connectClient(readContext(cluster.home.env, "dev"));
}

/** The namespace as a whole matches its head, or undefined (with why, for the timeout message). */
async function converged(ns: string): Promise<{ headSeq: number; body: string } | undefined> {
  const history = await client.history(ns);
  const head = history.commits.at(-1)!;
  const ps = await client.ps(ns);
  if (ps.instances.length !== 2) return undefined;
  if (!ps.instances.every((i) => i.commitSeq === head.seq && i.live.ok && i.live.state === "running" && i.address)) return undefined;
  const running = (await cluster.containersOf(ns)).map((c) => c.Id).sort();
  if (JSON.stringify(running) !== JSON.stringify(ps.instances.map((i) => i.containerId).sort())) return undefined;
  const routes = await client.routes();
  const consumers = routes.machines.flatMap((m) => (m.ok ? m.consumers : []));
  const addresses = ps.instances.map((i) => i.address!).sort();
  for (const kind of ["gateway", "dns"] as const) {
    const record = consumers.find((c) => c.kind === kind)?.services.find((s) => s.namespace === ns && s.service === "web");
    if (!record || record.commitSeq !== head.seq || JSON.stringify([...record.backends].sort()) !== JSON.stringify(addresses)) return undefined;
  }
  const overview = await client.overview();
  if (overview.leases.some((l) => l.name === ns)) return undefined;
  const bodies = await Promise.all(ps.instances.map((i) => httpGet(i.address!)));
  if (new Set(bodies).size !== 1) return undefined;
  return { headSeq: head.seq, body: bodies[0]! };
}

describe("kill -9 of ployzd in the middle of a deploy", () => {
  const cases: Array<{ point: FaultPoint; committed: boolean; what: string }> = [
    { point: "deploy.after-start", committed: false, what: "after the candidates started, before the commit" },
    { point: "deploy.after-commit", committed: true, what: "right after the commit landed" },
    { point: "rollforward.after-instances", committed: true, what: "in the middle of the derived writes (instance records written, routing not)" },
    { point: "drain.after-first-removal", committed: true, what: "in the middle of the drain" },
  ];

  it.each(cases)("$what: after a restart the namespace converges to its head, nothing orphaned, nothing unrouted", async ({ point, committed }) => {
    const ns = cluster.namespace(point.replace(/[^a-z]/g, "").slice(0, 20));
    await client.deploy({ spec: specOf(ns, "one") });
    const first = await eventually(() => converged(ns), "the first deploy to settle");
    expect(first.body).toBe("one");

    await restart(`${point}:kill`);
    const pid = daemonPid();
    const outcome = await client.deploy({ spec: specOf(ns, "two") }).then(
      () => "finished",
      (error: Error & { code?: string }) => error.code ?? error.message,
    );
    // the waiting client fails at once, naming the machine that stopped answering
    expect(outcome).toBe("coordinator-lost");
    await eventually(async () => (isAlive(pid) ? undefined : true), "ployzd to die at the fault");

    await restart();
    const after = await eventually(() => converged(ns), `the namespace to converge after a kill ${point}`, 45_000);
    expect(after.body).toBe(committed ? "two" : "one");
    expect(after.headSeq > first.headSeq).toBe(committed);
    const served = await viaGateway(cluster.gateway, `${ns}.crash.test`);
    expect(served).toEqual({ status: 200, body: committed ? "two" : "one" });

    // and the next deploy works as usual
    const next = await client.deploy({ spec: specOf(ns, "three") });
    expect(next.type).toBe("deployed");
    expect((await eventually(() => converged(ns), "the next deploy to settle")).body).toBe("three");
  }, 120_000);
});

describe("SIGTERM while deploys are in flight", () => {
  it("before the commit: the deploy compensates before ployzd exits, nothing of it is left, the old commit runs", async () => {
    const ns = cluster.namespace("term-before");
    await client.deploy({ spec: specOf(ns, "one") });
    const first = await eventually(() => converged(ns), "the first deploy to settle");
    const committed = (await client.ps(ns)).instances.map((i) => i.containerId).sort();
    const slow = aNamespaceSpec(ns, { web: httpService("slow", { replicas: 2, routes: [{ hostnames: [`${ns}.crash.test`], port: 8080 }], readiness: { type: "http", port: 8080, startPeriod: "30s" } }) });
    const pending = client.deploy({ spec: slow }).then(
      () => "finished",
      (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
    );
    await eventually(async () => ((await cluster.containersOf(ns)).length === 4 ? true : undefined), "the candidates to start");
    const pid = daemonPid();
    process.kill(pid, "SIGTERM");
    expect(await pending).toMatch(/^deploy-failed: .*failed in phase shutdown: ployzd on \S+ is stopping; commit \d+ is still what runs/);
    await eventually(async () => (isAlive(pid) ? undefined : true), "ployzd to exit");
    // compensated before it exited: only the committed instances remain, untouched
    expect((await cluster.containersOf(ns)).map((c) => c.Id).sort()).toEqual(committed);
    await restart();
    const after = await eventually(() => converged(ns), "the namespace to be settled after the restart");
    expect(after).toEqual(first);
  }, 120_000);

  it("after the commit: the deploy is reported deployed and hands the drain to the reconciler, which finishes it after the restart", async () => {
    await restart(undefined, ["--drain-ms", "20000"]);
    const ns = cluster.namespace("term-after");
    await client.deploy({ spec: specOf(ns, "one") });
    await eventually(() => converged(ns), "the first deploy to settle");
    const pending = client.deploy({ spec: specOf(ns, "two") });
    // committed, routed to the new instances, waiting out the drain delay before removing the old ones
    await eventually(async () => ((await client.history(ns)).commits.length === 2 && (await cluster.containersOf(ns)).length === 4 ? true : undefined), "the commit");
    const pid = daemonPid();
    process.kill(pid, "SIGTERM");
    const reply = await pending;
    expect(reply.type).toBe("deployed");
    expect(reply.warnings?.join("\n")).toMatch(/left of the roll-forward of commit \d+ is the reconciler's/);
    await eventually(async () => (isAlive(pid) ? undefined : true), "ployzd to exit");
    expect((await cluster.containersOf(ns)).length).toBe(4); // the old instances were not removed on the way out
    await restart();
    const after = await eventually(() => converged(ns), "the reconciler to finish the drain", 45_000);
    expect(after.body).toBe("two");
  }, 120_000);
});
