import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPaths } from "../../runtime/paths.ts";
import { aNamespaceSpec, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";
import { createTestHome, startDevDaemon } from "../harness/daemon.ts";
import { parsePrometheusText, type MetricFamily } from "../harness/prometheus-text.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

async function scrape(path = "/metrics"): Promise<{ families: Map<string, MetricFamily>; text: string; contentType: string | null }> {
  const response = await fetch(`${cluster.metrics}${path}`);
  expect(response.status, path).toBe(200);
  const text = await response.text();
  return { families: parsePrometheusText(text), text, contentType: response.headers.get("content-type") };
}

/** The sum of a family's samples named `name` whose labels include `labels`. */
function total(families: Map<string, MetricFamily>, family: string, labels: Record<string, string> = {}, name = family): number {
  return (families.get(family)?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

describe("metrics", () => {
  it("are served on loopback in the Prometheus text format, and the counters move after a deploy", async () => {
    expect(new URL(cluster.metrics).hostname).toBe("127.0.0.1");
    const before = await scrape();
    expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of ["ployz_deploys_total", "ployz_lease_refusals_total", "ployz_actor_restarts_total", "ployz_actor_failed", "ployz_routing_fresh", "ployz_routing_reloads_total", "ployz_nats_round_trip_seconds", "ployz_request_duration_seconds"]) {
      expect(before.families.has(name), name).toBe(true);
    }
    expect(total(before.families, "ployz_routing_fresh", { consumer: "gateway" })).toBe(1);
    expect(total(before.families, "ployz_nats_round_trip_seconds")).toBeGreaterThan(0);

    const ns = cluster.namespace("metrics");
    const host = `${ns}.metrics.test`;
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("counted", { routes: [{ hostnames: [host], port: 8080 }] }) }) });
    const broken = aNamespaceSpec(ns, { web: httpService("broken", { command: ["/bin/sh", "-c", "exit 3"], restart: "no" }) });
    await expect(cluster.client.deploy({ spec: broken })).rejects.toThrow(/failed in phase readiness/);
    expect((await viaGateway(cluster.gateway, host)).body.trim()).toBe("counted");

    const after = await scrape();
    expect(total(after.families, "ployz_deploys_total", { outcome: "ok" }) - total(before.families, "ployz_deploys_total", { outcome: "ok" })).toBe(1);
    expect(total(after.families, "ployz_deploys_total", { outcome: "failed" }) - total(before.families, "ployz_deploys_total", { outcome: "failed" })).toBe(1);
    expect(total(after.families, "ployz_deploy_failures_total", { phase: "readiness" }) - total(before.families, "ployz_deploy_failures_total", { phase: "readiness" })).toBe(1);
    expect(total(after.families, "ployz_deploy_duration_seconds", {}, "ployz_deploy_duration_seconds_count") - total(before.families, "ployz_deploy_duration_seconds", {}, "ployz_deploy_duration_seconds_count")).toBe(2);
    expect(total(after.families, "ployz_request_duration_seconds", { server: "participant", verb: "container.start" }, "ployz_request_duration_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(total(after.families, "ployz_request_duration_seconds", { server: "api", verb: "deploy" }, "ployz_request_duration_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(total(after.families, "ployz_routing_sequence", { consumer: "gateway" })).toBeGreaterThan(total(before.families, "ployz_routing_sequence", { consumer: "gateway" }));

    // bounded labels: no namespace, hostname or container id ever becomes a label value
    const ids = (await cluster.containersOf(ns)).map((c) => c.Id);
    for (const family of after.families.values()) {
      for (const sample of family.samples) {
        for (const value of Object.values(sample.labels)) {
          expect(value.includes(ns), `${sample.name} ${value}`).toBe(false);
          expect(/^[0-9a-f]{12,64}$/.test(value) || ids.some((id) => value.includes(id.slice(0, 12))), `${sample.name} ${value}`).toBe(false);
        }
      }
      if (family.type === "counter") expect(family.name).toMatch(/_total$/);
    }
  }, 120_000);

  it("Caddy's own metrics are served beside ours; anything else is not found", async () => {
    const caddy = await scrape("/metrics/caddy");
    expect([...caddy.families.keys()].some((name) => name.startsWith("caddy_")), [...caddy.families.keys()].join(" ")).toBe(true);
    expect((await fetch(`${cluster.metrics}/nope`)).status).toBe(404);
    expect((await fetch(`${cluster.metrics}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("--metrics-port 0 turns them off, and machine.json keeps it so", async () => {
    const home = createTestHome();
    try {
      const up = await startDevDaemon(home, { extraArgs: ["--metrics-port", "0"] });
      expect(up.info.metrics).toBeUndefined();
      expect(JSON.parse(readFileSync(dataPaths(home.dataDir).machine, "utf8")).metrics).toEqual({ host: "127.0.0.1", port: 0 });
      const shown = await home.cli("dev", "up");
      expect(shown.stdout).toMatch(/^ {2}metrics {2}off/m);
    } finally {
      await home.dispose();
    }
  }, 60_000);
});
