import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../runtime/process.ts";
import { aNamespaceSpec, httpService, startTestCluster, viaGatewayHttps, type TestCluster } from "../harness/cluster.ts";
import { eventually } from "../harness/daemon.ts";
import { startPebble, type TestPebble } from "../harness/pebble.ts";

// Pebble really validates here: every name resolves to 127.0.0.1 (pebble-challtestsrv's DNS) and
// pebble fetches the http-01 answer from the gateway's HTTP port, as a public ACME server would.
let pebble: TestPebble;
let cluster: TestCluster;
beforeAll(async () => {
  const httpPort = await freePort("127.0.0.1");
  pebble = await startPebble({ validate: { httpPort } });
  cluster = await startTestCluster({ extraArgs: ["--gateway-port", String(httpPort), "--acme-directory", pebble.directory, "--acme-ca", pebble.caFile] });
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
  await pebble?.dispose();
});

describe("ACME http-01 (pebble validating)", () => {
  it("answers the challenge on the gateway's HTTP listener and gets the certificate", async () => {
    const ns = cluster.namespace("http01");
    const host = `validated-${ns}.example.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("validated", { routes: [{ hostnames: [host], port: 8080, tls: "acme" }] }) }) });

    const root = await pebble.issuingRoot();
    const answer = await eventually(() => viaGatewayHttps(cluster.gatewayHttps, host, root).catch(() => undefined), "HTTPS after a validated order", 30_000);
    expect(answer).toMatchObject({ status: 200, body: "validated" });
    expect(answer.issuer).toContain("Pebble");
  });
});
