import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directoryHash } from "../../actors/gateway/acme.ts";
import { accountKey, certificateKey, certificateRecordSchema, orderLockKey, type CertificateRecord } from "../../model/certificates.ts";
import type { ClusterRoutes } from "../../model/routing-status.ts";
import { openStore } from "../../runtime/store.ts";
import { aNamespaceSpec, httpService, startTestCluster, viaGateway, viaGatewayHttps, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine, eventually } from "../harness/daemon.ts";
import { startPebble, type TestPebble } from "../harness/pebble.ts";

let pebble: TestPebble;
let cluster: TestCluster;
let pebbleRoot: string;
beforeAll(async () => {
  pebble = await startPebble();
  pebbleRoot = await pebble.issuingRoot();
  cluster = await startTestCluster({ extraArgs: ["--acme-directory", pebble.directory, "--acme-ca", pebble.caFile, "--acme-email", "ops@example.test"] });
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
  await pebble?.dispose();
});

const secureService = (body: string, host: string) => httpService(body, { routes: [{ hostnames: [host], port: 8080, tls: "acme" }] });

/** Runs `use` with KV `tls` (certificates, the ACME account), read as a machine: the roles that serve TLS. */
async function withTls<T>(use: (tls: Awaited<ReturnType<typeof openStore>>["kv"]["tls"]) => Promise<T>): Promise<T> {
  const nc = await connectAsMachine(cluster.home);
  try {
    return await use((await openStore(nc)).kv.tls);
  } finally {
    await nc.close();
  }
}

async function gatewayTls() {
  const routes = await cluster.home.json<ClusterRoutes>("routes");
  const mine = routes.machines.find((m) => m.machine === cluster.machineId);
  if (!mine?.ok) throw new Error(`no routes from ${cluster.machineId}`);
  return mine.consumers.find((c) => c.kind === "gateway")!.tls!;
}

describe("ACME (pebble)", () => {
  it("a route with tls: acme gets a certificate from pebble and is served over HTTPS", async () => {
    const ns = cluster.namespace("acme");
    const host = `secure-${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: secureService("over tls", host) }) });

    const answer = await eventually(() => viaGatewayHttps(cluster.gatewayHttps, host, pebbleRoot).catch(() => undefined), "HTTPS to be served", 30_000);
    expect(answer).toMatchObject({ status: 200, body: "over tls" });
    expect(answer.issuer).toContain("Pebble");
    // and still over plain HTTP
    expect(await viaGateway(cluster.gateway, host)).toEqual({ status: 200, body: "over tls" });

    // The certificate and the account live in the cluster's store, as secrets; the order lock is gone.
    await withTls(async (secrets) => {
      const entry = await secrets.get(certificateKey(host));
      const record: CertificateRecord = certificateRecordSchema.parse(entry?.json());
      expect(record).toMatchObject({ hostname: host, obtainedBy: cluster.machineId, directory: pebble.directory });
      expect(record.issuer).toContain("Pebble");
      expect(record.keyPem).toContain("PRIVATE KEY");
      expect(new Date(record.notAfter).toUTCString()).toBe(new Date(answer.validTo).toUTCString());
      const account = await secrets.get(accountKey(directoryHash(pebble.directory)));
      expect(account?.json()).toMatchObject({ type: "acme-account", directory: pebble.directory, email: "ops@example.test" });
      expect((await secrets.get(orderLockKey(host)))?.operation ?? "gone").not.toBe("PUT");
    });

    // `routes` shows hostname, notAfter and issuer, never a key.
    const routes = await cluster.home.cli("routes", "--json");
    expect(routes.code, routes.stderr).toBe(0);
    expect(routes.stdout).not.toContain("PRIVATE KEY");
    expect(routes.stdout).not.toContain("BEGIN CERTIFICATE");
    const tls = await gatewayTls();
    expect(tls.acme).toEqual({ configured: true, directory: pebble.directory });
    expect(tls.https).toBe(new URL(cluster.gatewayHttps).host);
    expect(tls.certificates).toContainEqual({ hostname: host, notAfter: expect.any(String), issuer: expect.stringContaining("Pebble") });
    const text = await cluster.home.cli("routes");
    expect(text.stdout).toContain(host);
    expect(text.stdout).not.toContain("PRIVATE KEY");

    // the order is Status: `ployzctl events` says it, naming the hostname and never a key
    const events = await eventually(async () => {
      const result = await cluster.home.cli("events", "--json");
      return result.stdout.includes(`certificate for ${host} obtained`) ? result.stdout : undefined;
    }, "the certificate order in the events");
    const line = events.split("\n").find((l) => l.includes(`certificate for ${host} obtained`))!;
    expect(JSON.parse(line)).toMatchObject({ kind: "certificate", machine: cluster.machineId, message: expect.stringMatching(new RegExp(`^certificate for ${host.replace(/\./g, "\\.")} obtained, valid until \\S+$`)) });
    expect(events).not.toContain("PRIVATE KEY");
  });

  it("serves over HTTPS a certificate another machine put in the store, without ordering one", async () => {
    const ns = cluster.namespace("elsewhere");
    const host = `elsewhere-${ns}.example.test`;
    const issued = pebble.signWithTestCa(host);
    const now = new Date();
    const record: CertificateRecord = {
      type: "certificate",
      hostname: host,
      ...issued,
      notBefore: new Date(now.getTime() - 60_000).toISOString(),
      notAfter: new Date(now.getTime() + 2 * 24 * 3600_000).toISOString(),
      issuer: "Ployz test CA for pebble",
      directory: pebble.directory,
      obtainedAt: now.toISOString(),
      obtainedBy: "another-machine",
    };
    await withTls((secrets) => secrets.put(certificateKey(host), JSON.stringify(record)));
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: secureService("from the store", host) }) });

    const answer = await eventually(() => viaGatewayHttps(cluster.gatewayHttps, host, pebble.caPem).catch(() => undefined), "HTTPS with the stored certificate", 30_000);
    expect(answer).toMatchObject({ status: 200, body: "from the store", issuer: "Ployz test CA for pebble" });
    await withTls(async (secrets) => expect(certificateRecordSchema.parse((await secrets.get(certificateKey(host)))?.json()).obtainedBy).toBe("another-machine"));
  });

  it("leaves a hostname to the machine holding its order lock, and takes over once the lock expires", async () => {
    const ns = cluster.namespace("locked");
    const host = `locked-${ns}.example.test`;
    // Another machine started ordering 105 s ago: its lock expires (at 120 s) in about 15 s.
    const since = new Date(Date.now() - 105_000).toISOString();
    await withTls((secrets) => secrets.create(orderLockKey(host), JSON.stringify({ type: "acme-order", hostname: host, machine: "another-machine", since })));
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: secureService("locked", host) }) });

    await eventually(
      async () => ((await gatewayTls()).waiting.some((w) => w.hostname === host && w.reason === "being ordered by another-machine") ? true : undefined),
      "the hostname to wait for the other machine's lock",
    );
    await expect(viaGatewayHttps(cluster.gatewayHttps, host, pebbleRoot)).rejects.toThrow();

    const answer = await eventually(() => viaGatewayHttps(cluster.gatewayHttps, host, pebbleRoot).catch(() => undefined), "the certificate after the lock expired", 40_000);
    expect(answer).toMatchObject({ status: 200, body: "locked" });
    expect(answer.issuer).toContain("Pebble");
  }, 90_000);

  it("does not serve a hostname without a certificate over HTTPS", async () => {
    await expect(viaGatewayHttps(cluster.gatewayHttps, "nocert.example.test", pebbleRoot)).rejects.toThrow();
  });
});
