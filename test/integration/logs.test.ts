import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGS_MAX_BYTES, LOGS_MAX_LINES } from "../../model/log-lines.ts";
import { aNamespaceSpec, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { eventually } from "../harness/daemon.ts";
import { parsePrometheusText } from "../harness/prometheus-text.ts";
import { BUSYBOX_IMAGE } from "../harness/docker.ts";

/**
 * `ployzctl logs` over every instance of a service (one machine here; the lab's multi-machine
 * test is left for the mesh lab): merged by time, each line once, bounded when a container is chatty.
 */

const CLI = fileURLToPath(new URL("../../bin/ployzctl.js", import.meta.url));

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

/** Runs `ployzctl ARGS` until `until` says its output is enough, then Ctrl-C; resolves with its output. */
async function follow(args: string[], until: (out: string) => boolean, what: string): Promise<{ out: string; err: string; code: number | null }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cluster.home.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    await eventually(async () => (until(out) ? true : undefined), `${what} (got ${out.length} bytes: ${out.slice(-300)}${err})`, 60_000);
    child.kill("SIGINT");
    return { out, err, code: await exited };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

describe("ployzctl logs", () => {
  it("-f shows every line of every instance exactly once, prefixed with slot and machine; --timestamps shows them merged by time", async () => {
    const ns = cluster.namespace("logsf");
    // several lines in the same second, from two instances: what `-f` used to repeat
    const ticker = { image: BUSYBOX_IMAGE, command: ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done"], replicas: 2 };
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { ticker }) });
    const { out, code, err } = await follow(["logs", "-n", ns, "ticker", "-f"], (o) => (o.match(/tick-/g) ?? []).length >= 150, "150 lines");
    expect(code, err).toBe(0);
    const seen = { "0": [] as number[], "1": [] as number[] };
    for (const line of out.trim().split("\n")) {
      const match = new RegExp(`^ticker#([01])@${cluster.machineId} \\| tick-(\\d+)$`).exec(line);
      expect(match, line).not.toBeNull();
      seen[match![1] as "0" | "1"].push(Number(match![2]));
    }
    for (const slot of ["0", "1"] as const) {
      const numbers = seen[slot];
      expect(numbers.length, `slot ${slot}`).toBeGreaterThan(10);
      // no line twice, none left out: consecutive from wherever the tail started
      expect(numbers, `slot ${slot}`).toEqual(numbers.map((_, i) => numbers[0]! + i));
    }

    const stamped = await cluster.home.cli("logs", "-n", ns, "ticker", "--timestamps", "--tail", "50");
    expect(stamped.code, stamped.stderr).toBe(0);
    const lines = stamped.stdout.trim().split("\n");
    // the last 50 of each, up to the moment the round began (a line printed after it waits for the next round)
    expect(lines.length).toBeGreaterThan(90);
    expect(lines.length).toBeLessThanOrEqual(100);
    const times = lines.map((line) => {
      const match = new RegExp(`^(\\S+Z) ticker#[01]@${cluster.machineId} \\| tick-\\d+$`).exec(line);
      expect(match, line).not.toBeNull();
      return match![1]!;
    });
    expect(times).toEqual([...times].sort());
  }, 120_000);

  it("a chatty container does not flood the CLI: output comes in bounded rounds and quiet instances still show", async () => {
    const ns = cluster.namespace("logsflood");
    // ~20,000 lines a second: far more than a round holds, without filling the disk with Docker's log
    const chatty = { image: BUSYBOX_IMAGE, command: ["/bin/sh", "-c", "while true; do seq 1 2000 | sed s/^/flood-/; sleep 0.1; done"] };
    const quiet = { image: BUSYBOX_IMAGE, command: ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo quiet-$i; sleep 0.2; done"] };
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { chatty, quiet }) });
    const page = await cluster.client.logs({ namespace: ns, service: "chatty", tail: 10_000 });
    expect(page.lines.length).toBeLessThanOrEqual(LOGS_MAX_LINES);
    expect(page.lines.reduce((n, l) => n + l.text.length, 0)).toBeLessThanOrEqual(LOGS_MAX_BYTES + 100);
    // and the next round goes on from there
    const next = await cluster.client.logs({ namespace: ns, service: "chatty", tail: 10_000, cursors: page.cursors });
    expect(next.lines[0]!.time >= page.lines.at(-1)!.time).toBe(true);
    expect(page.more).toBe(true);
    expect(page.lines.every((l) => /^flood-\d+$/.test(l.text))).toBe(true);
    // back-pressure end to end: while nobody reads the CLI's output, it stops asking for rounds
    const rounds = async () => {
      const families = parsePrometheusText(await (await fetch(`${cluster.metrics}/metrics`)).text());
      return families.get("ployz_request_duration_seconds")!.samples.filter((s) => s.name === "ployz_request_duration_seconds_count" && s.labels.verb === "logs").reduce((n, s) => n + s.value, 0);
    };
    const reader = spawn(process.execPath, [CLI, "logs", "-n", ns, "chatty", "-f"], { env: cluster.home.env, stdio: ["ignore", "pipe", "ignore"] });
    try {
      let read = 0;
      reader.stdout.on("data", (d: Buffer) => (read += d.length));
      await eventually(async () => (read > 0 ? true : undefined), "the first lines");
      reader.stdout.pause();
      // the pipe fills, and the CLI stops at its next write: the count of rounds stands still
      // (a round of a chatty container's log is slow: Docker scans its log file up to `since`)
      const seen: number[] = [];
      const stalled = await eventually(async () => {
        seen.push(await rounds());
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const [a, b, c] = seen.slice(-3);
        return seen.length >= 3 && a === b && b === c ? c : undefined;
      }, "the rounds to stop while nobody reads", 45_000);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(await rounds(), "rounds asked while the output was not read").toBe(stalled);
      reader.stdout.resume();
      await eventually(async () => ((await rounds()) > stalled + 1 ? true : undefined), "rounds to go on once the output is read");
    } finally {
      reader.kill("SIGKILL");
    }
    // the quiet service's own logs are not held up by its chatty neighbour
    const { out, code } = await follow(["logs", "-n", ns, "quiet", "-f"], (o) => (o.match(/quiet-/g) ?? []).length >= 5, "5 quiet lines");
    expect(code).toBe(0);
    expect(out).not.toContain("flood");
  }, 120_000);
});
