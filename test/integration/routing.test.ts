import { readFileSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPaths } from "../../runtime/paths.ts";
import { jetstream } from "@nats-io/jetstream";
import { JETSTREAM_DOMAIN } from "../../model/store-layout.ts";
import { connectAsMachine, eventually, readPid } from "../harness/daemon.ts";
import { aNamespaceSpec, gatewayLoop, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ faultInjection: true });
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

const routed = (body: string, host: string, extra: object = {}) =>
  httpService(body, { replicas: 2, routes: [{ hostnames: [host], port: 8080 }], ...extra });

async function gatewayStatus() {
  const routes = await cluster.client.routes();
  const mine = routes.machines.find((m) => m.machine === cluster.machineId);
  if (!mine?.ok) throw new Error(`no routes from ${cluster.machineId}`);
  return mine.consumers.find((c) => c.kind === "gateway")!;
}

describe("the gateway", () => {
  it("serves a deployed route, 404 for unknown hosts, and switches v1 → v2 → v3 with zero failed requests", async () => {
    const ns = cluster.namespace("zd");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("v1", host) }) });
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === "v1" ? true : undefined), "v1 to be served");
    expect(await viaGateway(cluster.gateway, "unknown.example.test")).toEqual({ status: 404, body: "no route for this host" });

    // two clients looping on fresh connections while two deploys replace every instance
    const loops = [gatewayLoop(cluster.gateway, host), gatewayLoop(cluster.gateway, host)];
    await eventually(async () => (loops.every((l) => l.responses.length > 10) ? true : undefined), "the load loops to run");
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("v2", host) }) });
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("v3", host) }) });
    const seen = loops.map((l) => l.responses.length);
    await eventually(async () => (loops.every((l, i) => l.responses.length > seen[i]! + 10) ? true : undefined), "more requests after the deploys");
    await Promise.all(loops.map((l) => l.stop()));

    for (const loop of loops) {
      const failed = loop.responses.filter((r) => "error" in r || r.status !== 200);
      expect(failed).toEqual([]);
      const bodies = loop.responses.map((r) => ("body" in r ? r.body : "?"));
      expect(bodies[0]).toBe("v1");
      expect(bodies.at(-1)).toBe("v3");
      // versions only ever move forward
      const order = bodies.map((b) => Number(b.slice(1)));
      expect(order.every((v, i) => i === 0 || v >= order[i - 1]!)).toBe(true);
    }
  });

  it("never routes to a failed deploy's candidates", async () => {
    const ns = cluster.namespace("neverrouted");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("good", host) }) });
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === "good" ? true : undefined), "good to be served");
    const loop = gatewayLoop(cluster.gateway, host);
    const broken = routed("bad", host, { readiness: { type: "http", port: 8080, path: "/missing", interval: "100ms", retries: 5 } });
    await expect(cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: broken }) })).rejects.toMatchObject({ code: "deploy-failed" });
    await loop.stop();
    expect(loop.responses.length).toBeGreaterThan(0);
    expect(loop.responses.every((r) => "body" in r && r.status === 200 && r.body === "good")).toBe(true);
  });

  it("answers 503 naming the service when a route has no ready backend", async () => {
    const ns = cluster.namespace("nobackend");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("x", host, { replicas: 0 }) }) });
    const response = await eventually(async () => {
      const r = await viaGateway(cluster.gateway, host);
      return r.status === 503 ? r : undefined;
    }, "503 for a route without backends");
    expect(response.body).toBe(`no ready backend for ${ns}/web`);
  });

  it("refuses at preview a route another namespace already serves, naming both owners", async () => {
    const owner = cluster.namespace("owner");
    const thief = cluster.namespace("thief");
    const host = `${owner}.shared.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(owner, { api: routed("owner", host) }) });
    const error = await cluster.client.deploy({ spec: aNamespaceSpec(thief, { web: routed("thief", host) }), preview: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "route-conflict" });
    expect((error as Error).message).toBe(`ployzd (API): route ${host}/ of ${thief}/web conflicts with ${host}/, claimed by ${owner}/api`);
    // a different path on the same host is fine
    const other = await cluster.client.deploy({
      spec: aNamespaceSpec(thief, { web: httpService("t", { routes: [{ hostnames: [host], pathPrefix: "/thief", port: 8080 }] }) }),
      preview: true,
    });
    expect(other.type).toBe("previewed");
  });

  it("a bad record forced into the stream is left out and reported; every other route keeps serving and new deploys still apply", async () => {
    const ns = cluster.namespace("bystander");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("bystander", host) }) });
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === "bystander" ? true : undefined), "the bystander's route");
    const nc = await connectAsMachine(cluster.home);
    const evil = cluster.namespace("forged");
    try {
      const js = jetstream(nc, { domain: JETSTREAM_DOMAIN });
      // a record no deploy could write: a hostname twice (Caddy would refuse the whole config for it)
      const forged = { type: "routing", namespace: evil, service: "x", commitSeq: 1, revision: "r", deleted: false, routes: [{ hostnames: [host, host], pathPrefix: "/", port: 80, tls: "none" }], ports: [], backends: [], at: new Date().toISOString() };
      const { seq } = await js.publish(`routing.${evil}.x`, JSON.stringify(forged));
      // and one that parses but serves the bystander's host: both are left out, each naming the other
      const clash = { ...forged, service: "y", routes: [{ hostnames: [`twin-${host}`], pathPrefix: "/", port: 80, tls: "none" }] };
      await js.publish(`routing.${evil}.y`, JSON.stringify(clash));
      await js.publish(`routing.${evil}.z`, JSON.stringify({ ...clash, service: "z" }));
      const status = await eventually(async () => {
        const s = await gatewayStatus();
        return s.seq >= seq + 2 ? s : undefined;
      }, "the gateway to apply past the forged records");
      expect(status.invalid).toContainEqual(expect.objectContaining({ subject: `routing.${evil}.x`, seq, reason: expect.stringContaining("is listed twice") }));
      expect(status.excluded).toEqual(expect.arrayContaining([{ namespace: evil, service: "y", reason: `twin-${host}/ is also served by ${evil}/z` }]));
      expect(status.applyError).toBeUndefined();
      expect(await viaGateway(cluster.gateway, host)).toEqual({ status: 200, body: "bystander" });
      const human = await cluster.home.cli("routes");
      expect(human.stdout).toContain(`invalid record ${seq} on routing.${evil}.x`);
      expect(human.stdout).toContain(`left out ${evil}/y: twin-${host}/ is also served by ${evil}/z`);
      // the gateway still applies what comes next
      const next = cluster.namespace("after-forged");
      await cluster.client.deploy({ spec: aNamespaceSpec(next, { web: routed("after", `${next}.example.test`) }) });
      await eventually(async () => ((await viaGateway(cluster.gateway, `${next}.example.test`)).body === "after" ? true : undefined), "a later deploy to be served");
    } finally {
      const js = jetstream(nc, { domain: JETSTREAM_DOMAIN });
      for (const service of ["x", "y", "z"]) await js.publish(`routing.${evil}.${service}`, JSON.stringify({ type: "routing", namespace: evil, service, commitSeq: 2, revision: "r", deleted: true, routes: [], ports: [], backends: [], at: new Date().toISOString() }));
      await nc.close();
    }
  });

  it("without an ACME directory, serves tls: acme routes on HTTP and says why there is no certificate", async () => {
    const ns = cluster.namespace("noacme");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("plain", { routes: [{ hostnames: [host], port: 8080, tls: "acme" }] }) }) });
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === "plain" ? true : undefined), "the route on HTTP");
    const status = await gatewayStatus();
    expect(status.tls?.acme).toEqual({ configured: false });
    expect(status.tls?.certificates.map((c) => c.hostname)).not.toContain(host);
    const human = await cluster.home.cli("routes", "-n", ns);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("acme not configured");
  });

  it("reloads after its actor is killed and converges to the same projection", async () => {
    const before = await gatewayStatus();
    const crash = await cluster.home.cli("debug", "crash", "gateway");
    expect(crash.code, crash.stderr).toBe(0);
    // a new consumer: it loaded the projection again from the stream
    const after = await eventually(async () => {
      const s = await gatewayStatus();
      return s.lastReload!.at > before.lastReload!.at && s.freshness.state === "fresh" ? s : undefined;
    }, "the gateway to reload");
    expect(after.seq).toBe(before.seq);
    expect(after.services).toEqual(before.services);
  });

  it("keeps serving while NATS is unreachable, reports stale, and reloads when it is back", async () => {
    const ns = cluster.namespace("stale");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("still here", host) }) });
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === "still here" ? true : undefined), "the route to be served");
    const before = await gatewayStatus();
    const natsPid = readPid(dataPaths(cluster.home.dataDir).natsPid)!;
    const log = dataPaths(cluster.home.dataDir).daemonLog;
    process.kill(natsPid, "SIGSTOP");
    try {
      // the daemon notices (missed pings / consumer heartbeats) and says so in its log; the gateway's
      // own line (the DNS consumer, on its own heartbeats, may notice first and the gateway not at all)
      const gatewayStale = () =>
        readFileSync(log, "utf8")
          .split("\n")
          .some((line) => line.includes('"actor":"gateway"') && line.includes("routing projection stale"));
      await eventually(async () => (gatewayStale() ? true : undefined), "the gateway to report stale", 30_000);
      // Caddy does not need NATS: the last good projection is still served
      expect(await viaGateway(cluster.gateway, host)).toEqual({ status: 200, body: "still here" });
    } finally {
      process.kill(natsPid, "SIGCONT");
    }
    const after = await eventually(
      async () => {
        const s = await gatewayStatus();
        return s.freshness.state === "fresh" && s.reloads > before.reloads ? s : undefined;
      },
      "the gateway to reload after NATS is back",
      30_000,
    );
    expect(after.seq).toBe(before.seq);
    expect(after.services).toEqual(before.services);
  }, 90_000);
});

describe("the cluster DNS", () => {
  const resolver = () => {
    const r = new Resolver({ timeout: 2_000, tries: 1 });
    r.setServers([cluster.dns]);
    return r;
  };

  it("answers every ready replica of a service, one replica by slot, SRV with ports, and NXDOMAIN for unknown names", async () => {
    const ns = cluster.namespace("dns");
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("d", { replicas: 2 }) }) });
    const ps = await cluster.client.ps(ns);
    const addresses = ps.instances.map((i) => i.address).sort();
    const answered = await eventually(async () => {
      const a = (await resolver().resolve4(`web.${ns}.ployz.internal`)).sort();
      return a.length === 2 ? a : undefined;
    }, "DNS to answer both replicas");
    expect(answered).toEqual(addresses);
    expect(await resolver().resolve4(`1.web.${ns}.ployz.internal`)).toEqual([ps.instances[1]!.address]);
    const srv = (await resolver().resolveSrv(`web.${ns}.ployz.internal`)).map((r) => `${r.name}:${r.port}`).sort();
    expect(srv).toEqual([`0.web.${ns}.ployz.internal:8080`, `1.web.${ns}.ployz.internal:8080`]);
    await expect(resolver().resolve4(`nosuch.${ns}.ployz.internal`)).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("gives no answer for an instance that is not ready yet", async () => {
    const ns = cluster.namespace("dnsslow");
    const slow = httpService("slow", { readiness: { type: "http", port: 8080, startPeriod: "3s", interval: "100ms" } });
    const deploy = cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: slow }) });
    await eventually(async () => ((await cluster.containersOf(ns)).length === 1 ? true : undefined), "the candidate to start");
    // running, but not ready and not committed: not in DNS
    await expect(resolver().resolve4(`web.${ns}.ployz.internal`)).rejects.toMatchObject({ code: "ENOTFOUND" });
    await deploy;
    const ps = await cluster.client.ps(ns);
    await eventually(async () => ((await resolver().resolve4(`web.${ns}.ployz.internal`))[0] === ps.instances[0]!.address ? true : undefined), "the ready instance in DNS");
  });
});
