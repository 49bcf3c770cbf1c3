import { describe, expect, it } from "vitest";
import { createNodeMetrics, registerNodeSources } from "../../runtime/metrics.ts";
import { parsePrometheusText } from "../harness/prometheus-text.ts";

describe("the strict text-format parser (test helper)", () => {
  it("reads families, labels with escapes, special floats and histograms", () => {
    const families = parsePrometheusText(
      [
        "# HELP a_total Things\\nthat happened.",
        "# TYPE a_total counter",
        'a_total{kind="x\\"y",path="C:\\\\"} 3',
        "a_total 1e3 1700000000000",
        "# TYPE g gauge",
        "g NaN",
        "# TYPE h histogram",
        'h_bucket{le="0.5"} 1',
        'h_bucket{le="+Inf"} 2',
        "h_sum 1.5",
        "h_count 2",
        "",
      ].join("\n"),
    );
    expect(families.get("a_total")).toMatchObject({ type: "counter", help: "Things\nthat happened.", samples: [{ labels: { kind: 'x"y', path: "C:\\" }, value: 3 }, { labels: {}, value: 1000 }] });
    expect(families.get("g")!.samples[0]!.value).toBeNaN();
    expect(families.get("h")!.samples).toHaveLength(4);
  });

  it.each([
    ["no final newline", "a 1"],
    ["a bad name", "1a 1\n"],
    ["a value that is not a float", "a one\n"],
    ["an unclosed label", 'a{x="1} 1\n'],
    ["an unknown escape", 'a{x="\\t"} 1\n'],
    ["a series twice", "a 1\na 2\n"],
    ["interleaved families", "a 1\nb 1\na{x=\"1\"} 1\n"],
    ["TYPE after samples", "a 1\n# TYPE a gauge\n"],
    ["buckets that are not cumulative", '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 0\nh_count 1\n'],
    ["no +Inf bucket", '# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 0\nh_count 2\n'],
    ["_count not the +Inf bucket", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 0\nh_count 3\n'],
  ])("refuses %s", (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});

describe("a node's metrics", () => {
  const scrape = async (metrics: ReturnType<typeof createNodeMetrics>) => parsePrometheusText(await metrics.registry.metrics());
  const value = (families: Map<string, { samples: Array<{ name: string; labels: Record<string, string>; value: number }> }>, name: string, labels: Record<string, string> = {}, family = name) =>
    families.get(family)?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  it("count deploys by outcome, failures by phase, lease refusals, and time them", async () => {
    const metrics = createNodeMetrics("m1");
    metrics.deployStarted("d1", 1_000);
    metrics.deployEnded("d1", 3_500, { ok: true });
    metrics.deployStarted("d2", 1_000);
    metrics.deployEnded("d2", 1_100, { ok: false, phase: "lease", code: "lease-held" });
    metrics.deployEnded("d3", 1_100, { ok: false, phase: "something-new" });
    const families = await scrape(metrics);
    expect(value(families, "ployz_deploys_total", { outcome: "ok", machine: "m1" })).toBe(1);
    expect(value(families, "ployz_deploys_total", { outcome: "failed" })).toBe(2);
    expect(value(families, "ployz_deploy_failures_total", { phase: "lease" })).toBe(1);
    expect(value(families, "ployz_deploy_failures_total", { phase: "other" })).toBe(1);
    expect(value(families, "ployz_lease_refusals_total")).toBe(1);
    expect(value(families, "ployz_deploy_duration_seconds_sum", { outcome: "ok" }, "ployz_deploy_duration_seconds")).toBe(2.5);
    expect(value(families, "ployz_deploy_duration_seconds_count", { outcome: "failed" }, "ployz_deploy_duration_seconds")).toBe(1);
  });

  it("label requests by known verbs only, and read actors, routing and NATS at scrape", async () => {
    const metrics = createNodeMetrics("m1");
    metrics.requestAnswered("participant", "observe.capacity", 0.002, true);
    metrics.requestAnswered("participant", "made.up.verb.with.a.container.id", 0.002, false);
    let restarts = 1;
    registerNodeSources(metrics, {
      children: () => [
        { name: "gateway", state: "running", restarts },
        { name: "dns", state: "failed", restarts: 5 },
      ],
      routing: () => [{ kind: "gateway", seq: 42, reloads: 3, freshness: { state: "fresh" } }],
      natsRoundTrip: async () => 0.0012,
    });
    let families = await scrape(metrics);
    expect(value(families, "ployz_request_duration_seconds_count", { server: "participant", verb: "observe.capacity", outcome: "ok" }, "ployz_request_duration_seconds")).toBe(1);
    expect(value(families, "ployz_request_duration_seconds_count", { verb: "unknown", outcome: "error" }, "ployz_request_duration_seconds")).toBe(1);
    expect(value(families, "ployz_actor_restarts_total", { actor: "gateway" })).toBe(1);
    expect(value(families, "ployz_actor_failed", { actor: "dns" })).toBe(1);
    expect(value(families, "ployz_routing_fresh", { consumer: "gateway" })).toBe(1);
    expect(value(families, "ployz_routing_reloads_total", { consumer: "gateway" })).toBe(3);
    expect(value(families, "ployz_routing_sequence", { consumer: "gateway" })).toBe(42);
    expect(value(families, "ployz_nats_round_trip_seconds")).toBe(0.0012);
    restarts = 2;
    families = await scrape(metrics);
    expect(value(families, "ployz_actor_restarts_total", { actor: "gateway" })).toBe(2);
    // every ployz_ counter ends in _total; every family has help
    for (const family of families.values()) {
      expect(family.help, family.name).toBeTruthy();
      if (family.type === "counter") expect(family.name).toMatch(/_total$/);
      expect(family.name).toMatch(/^ployz_/);
    }
  });
});
