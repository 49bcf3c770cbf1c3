import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { isAlive, waitForExit } from "../../runtime/process.ts";
import { eventually, readPid, startDevDaemon } from "../harness/daemon.ts";
import { aNamespaceSpec, gatewayLoop, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";
import { dig } from "../harness/dns.ts";

/**
 * The gateway and the DNS outlive ployzd: Caddy and the DNS process are adopted by the next
 * ployzd, so a client looping on the gateway sees no failure while ployzd restarts or after it is
 * killed; nats-server, Caddy and the DNS process are supervised, started again when they exit.
 */

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

const routed = (body: string, host: string) => httpService(body, { replicas: 2, routes: [{ hostnames: [host], port: 8080 }] });
const paths = () => dataPaths(cluster.home.dataDir);
const serves = (host: string, body: string) => eventually(async () => ((await viaGateway(cluster.gateway, host)).body === body ? true : undefined), `${body} to be served`);

/** A fresh client after ployzd restarted (nats-server was restarted with it). */
async function reconnect() {
  await cluster.client.close().catch(() => undefined);
  cluster.client = await connectClient(readContext(cluster.home.env, "dev"));
}

describe("the gateway through ployzd restarts", () => {
  it("serves with zero failed requests while ployzd is stopped and started, and while it is killed with -9 and started", async () => {
    const ns = cluster.namespace("survive");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("v1", host) }) });
    await serves(host, "v1");
    const caddyPid = readPid(paths().caddyPid)!;
    const dnsPid = readPid(paths().dnsPid)!;
    const loop = gatewayLoop(cluster.gateway, host);
    try {
      await eventually(async () => (loop.responses.length > 10 ? true : undefined), "the loop to run");

      // a clean stop and a new start
      const first = readPid(paths().daemonPid)!;
      process.kill(first, "SIGTERM");
      expect(await waitForExit(first, 20_000)).toBe(true);
      const during = loop.responses.length;
      await eventually(async () => (loop.responses.length > during + 10 ? true : undefined), "requests while ployzd is down");
      await startDevDaemon(cluster.home);

      // kill -9 and a new start
      const second = readPid(paths().daemonPid)!;
      expect(second).not.toBe(first);
      process.kill(second, "SIGKILL");
      expect(await waitForExit(second, 10_000)).toBe(true);
      const killed = loop.responses.length;
      await eventually(async () => (loop.responses.length > killed + 10 ? true : undefined), "requests while ployzd is dead");
      await startDevDaemon(cluster.home);
      await reconnect();

      // the new ployzd drives the same Caddy and DNS process: a deploy switches the loop to v2
      await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("v2", host) }) });
      await eventually(async () => (loop.responses.at(-1) && "body" in loop.responses.at(-1)! && (loop.responses.at(-1) as { body: string }).body === "v2" ? true : undefined), "the loop to see v2");
    } finally {
      await loop.stop();
    }
    expect(loop.failed()).toEqual([]);
    expect(loop.responses.length).toBeGreaterThan(50);
    expect(readPid(paths().caddyPid)).toBe(caddyPid);
    expect(readPid(paths().dnsPid)).toBe(dnsPid);
    const log = (await import("node:fs")).readFileSync(paths().daemonLog, "utf8");
    expect(log).toContain("caddy adopted: it kept serving");
    expect(log).toContain("the DNS process adopted: it kept answering");
  });

  it("nats-server killed with -9 is started again, and the gateway never stops serving", async () => {
    const ns = cluster.namespace("natskill");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("before", host) }) });
    await serves(host, "before");
    const natsPid = readPid(paths().natsPid)!;
    const loop = gatewayLoop(cluster.gateway, host);
    try {
      await eventually(async () => (loop.responses.length > 10 ? true : undefined), "the loop to run");
      process.kill(natsPid, "SIGKILL");
      const restarted = await eventually(async () => {
        const pid = readPid(paths().natsPid);
        return pid && pid !== natsPid && isAlive(pid) ? pid : undefined;
      }, "nats-server to be started again");
      expect(restarted).not.toBe(natsPid);
      // the store is back: a deploy goes through the same ployzd (a CLI's connection does not reconnect: a new one)
      await eventually(
        async () => {
          await reconnect();
          await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("after", host) }) });
          return true;
        },
        "a deploy after nats-server came back",
        30_000,
      );
      await eventually(async () => ((loop.responses.at(-1) as { body?: string } | undefined)?.body === "after" ? true : undefined), "the loop to see the new version");
    } finally {
      await loop.stop();
    }
    expect(loop.failed()).toEqual([]);
    expect((await import("node:fs")).readFileSync(paths().daemonLog, "utf8")).toContain("nats-server started again");
  });

  it("Caddy killed with -9 is started again and given its routes; the DNS process likewise, answering again", async () => {
    const ns = cluster.namespace("caddykill");
    const host = `${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: routed("routed", host) }) });
    await serves(host, "routed");
    const caddyPid = readPid(paths().caddyPid)!;
    process.kill(caddyPid, "SIGKILL");
    await eventually(async () => {
      const pid = readPid(paths().caddyPid);
      return pid && pid !== caddyPid && isAlive(pid) ? pid : undefined;
    }, "caddy to be started again");
    await serves(host, "routed");

    const dnsPid = readPid(paths().dnsPid)!;
    process.kill(dnsPid, "SIGKILL");
    await eventually(async () => {
      const pid = readPid(paths().dnsPid);
      return pid && pid !== dnsPid && isAlive(pid) ? pid : undefined;
    }, "the DNS process to be started again");
    const [dnsHost, dnsPort] = cluster.dns.split(":");
    await eventually(async () => ((await dig(dnsHost!, Number(dnsPort), `web.${ns}.ployz.internal`)).answers.length === 2 ? true : undefined), "the DNS to answer again");
    await serves(host, "routed");
    const log = (await import("node:fs")).readFileSync(paths().daemonLog, "utf8");
    expect(log).toContain("caddy started again");
    expect(log).toContain("dns started again");
  });
});
