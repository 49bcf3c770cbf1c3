import { spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterEventSchema, type ClusterEvent } from "../../model/cluster-events.ts";
import { aNamespaceSpec, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { eventually } from "../harness/daemon.ts";

const CLI = fileURLToPath(new URL("../../bin/ployzctl.js", import.meta.url));

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ extraArgs: ["--reconcile-interval-ms", "1000"] });
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

const parseLines = (text: string): ClusterEvent[] => text.split("\n").filter(Boolean).map((l) => clusterEventSchema.parse(JSON.parse(l)));

describe("ployzctl events", () => {
  it("--follow shows a deploy, a failed deploy and a reconcile action, in order, once each", async () => {
    const ns = cluster.namespace("events");
    const follower = spawn(process.execPath, [CLI, "events", "-n", ns, "--follow", "--json"], { env: cluster.home.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    follower.stdout.on("data", (d: Buffer) => (out += d.toString()));
    follower.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once("exit", resolve));
    try {
      await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("one") }) });
      const broken = aNamespaceSpec(ns, { web: httpService("two", { command: ["/bin/sh", "-c", "echo boom; exit 3"], restart: "no" }) });
      await expect(cluster.client.deploy({ spec: broken })).rejects.toThrow(/failed in phase readiness/);
      const [victim] = (await cluster.client.ps(ns)).instances;
      await cluster.docker.getContainer(victim!.containerId).kill();

      const events = await eventually(async () => {
        const list = parseLines(out);
        return list.some((e) => e.kind === "reconcile" && e.message.includes(`web#${victim!.slot}`)) ? list : undefined;
      }, `a reconcile event about web#${victim!.slot} (got: ${out}${err})`, 60_000);
      expect(events.every((e) => e.namespace === ns)).toBe(true);
      // each event once, in the order the cluster stored them
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      const ok = events.findIndex((e) => e.kind === "deploy" && /commit done$/.test(e.message));
      const failed = events.findIndex((e) => e.kind === "deploy" && /readiness FAILED: .*exited with code 3/.test(e.message));
      const reconciled = events.findIndex((e) => e.kind === "reconcile" && e.message.includes(`web#${victim!.slot}`));
      expect(ok, JSON.stringify(events)).toBeGreaterThanOrEqual(0);
      expect(failed).toBeGreaterThan(ok);
      expect(reconciled).toBeGreaterThan(failed);
      for (const e of events) {
        expect(e.message).not.toContain("\n");
        expect(e.machine).toBe(e.kind === "placement" ? undefined : cluster.machineId);
      }

      follower.kill("SIGINT");
      expect(await exited).toBe(0);

      // the same events, asked once, as text
      const once = await cluster.home.cli("events", "-n", ns, "--since", "1h");
      expect(once.code, once.stderr).toBe(0);
      const lines = once.stdout.trim().split("\n");
      expect(lines.length).toBeGreaterThanOrEqual(events.length);
      expect(lines[0]).toMatch(new RegExp(`^\\S+Z  (deploy|placement)\\s+${ns}`));
      // nothing was stored in the last millisecond
      const none = await cluster.home.cli("events", "-n", ns, "--since", "1ms", "--json");
      expect(none.code, none.stderr).toBe(0);
      expect(none.stdout.trim()).toBe("");
      const bad = await cluster.home.cli("events", "--since", "yesterday");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--since yesterday: give a duration like 10m");
    } finally {
      if (follower.exitCode === null) follower.kill("SIGKILL");
    }
  }, 120_000);

  it("the whole cluster's events include the node starting; an observer may read them", async () => {
    const once = await cluster.home.cli("events", "--json");
    expect(once.code, once.stderr).toBe(0);
    const events = parseLines(once.stdout);
    expect(events.find((e) => e.kind === "node" && e.machine === cluster.machineId)?.message).toMatch(/^ployzd started \(version /);

    const created = await cluster.home.cli("credentials", "create", "watcher", "--role", "observer");
    expect(created.code, created.stderr).toBe(0);
    const file = join(cluster.home.root, "watcher.json");
    writeFileSync(file, created.stdout);
    chmodSync(file, 0o600);
    expect((await cluster.home.cli("context", "import", file)).code).toBe(0);
    const seen = await cluster.home.cli("--context", "watcher", "events", "--json");
    expect(seen.code, seen.stderr).toBe(0);
    expect(parseLines(seen.stdout).map((e) => e.seq)).toEqual(events.map((e) => e.seq).concat(parseLines(seen.stdout).slice(events.length).map((e) => e.seq)));
  }, 60_000);
});
