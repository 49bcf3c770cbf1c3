/**
 * Gateway throughput and tail latency for a small response: `wrk` through the gateway (Caddy,
 * Host header) against the same `wrk` straight to the container, in the same run.
 *
 *   npx tsx bench/gateway-throughput.ts [--runs 2] [--wrk-seconds 10] [--connections 32] [--threads 2] [--restart-seconds 12]
 *
 * Then the failed requests across ployzd restarts: one more wrk run through the gateway while
 * ployzd is stopped (SIGTERM) and started, then killed (-9) and started; Caddy and the DNS process
 * are adopted, so every request should succeed. Its count is set beside the counted gateway runs'.
 */
import { execFileSync, spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { ProgramMissingError } from "../model/errors.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { dataPaths } from "../runtime/paths.ts";
import { waitForExit } from "../runtime/process.ts";
import { aNamespaceSpec, httpService, startTestCluster, viaGateway, type TestCluster } from "../test/harness/cluster.ts";
import { eventually, readPid, startDevDaemon } from "../test/harness/daemon.ts";
import type { Cleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { withInterruptibleCleanup } from "./support/interruption.ts";
import { median, ms, round, times } from "./support/stats.ts";

export const THROUGHPUT_DEFAULTS = { runs: 2, wrkSeconds: 10, connections: 32, threads: 2, restartSeconds: 12 };
export type ThroughputOptions = typeof THROUGHPUT_DEFAULTS;

/** Untimed first load of each target, so neither pays for cold caches in a counted run. */
const WARMUP_SECONDS = 2;
const BODY = "ok";

/** What one wrk run reported. */
export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  /** Latency percentiles from `--latency`, in milliseconds. */
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

export interface ThroughputResult {
  runs: number;
  wrk: { threads: number; connections: number; seconds: number };
  cpus: number;
  /** 1-minute load average at the start and the end: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
  /** The medians over the runs. */
  gateway: { requestsPerSec: number; p50Ms: number; p99Ms: number };
  direct: { requestsPerSec: number; p50Ms: number; p99Ms: number };
  /** gateway / direct, of the medians. */
  ratio: { requestsPerSec: number; p50: number; p99: number };
  samples: { gateway: WrkResult[]; direct: WrkResult[] };
  /** One gateway run across two ployzd restarts (SIGTERM + start, kill -9 + start). */
  acrossRestarts: { seconds: number; requests: number; failed: number; failedInCountedRuns: number; ployzdDownMs: { stop: number; kill: number }; wrk: WrkResult };
}

/** Runs the throughput benchmark against a dev cluster of its own, printing as it goes. */
export async function benchGatewayThroughput(options: ThroughputOptions, print: (line: string) => void = console.log): Promise<ThroughputResult> {
  requireWrk();
  return await withInterruptibleCleanup(async (cleanup, interruption) => {
    const loadAtStart = loadavg()[0]!;
    const cluster = (await cleanup.own("dispose the test cluster", startTestCluster(), (c) => c.dispose())).value;
    const namespace = cluster.namespace("bench-gw");
    const host = `${namespace}.bench.test`;
    const spec = aNamespaceSpec(namespace, { web: httpService(BODY, { routes: [{ hostnames: [host], port: 8080 }] }) });
    const reply = await cluster.client.deploy({ spec });
    if (reply.type !== "deployed") throw new Error(`deploy of ${namespace} answered ${reply.type}, not deployed`);
    const instance = (await cluster.client.ps(namespace)).instances.find((i) => i.service === "web");
    if (!instance?.address) throw new Error(`ployzctl ps ${namespace} shows no address for web`);
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === BODY ? true : undefined), `the gateway to serve ${host}`);

    const targets = {
      gateway: `${cluster.gateway}/`,
      direct: `http://${instance.address}:8080/`,
    };
    const wrk = (url: string, seconds: number) => runWrk(cleanup, { ...options, seconds, url, host });
    print(`gateway throughput: ${BODY.length + 1}-byte body from 1× busybox httpd (${namespace}/web at ${instance.address}); machine ${cluster.machineId}, ${availableParallelism()} CPUs shared by wrk, Caddy and httpd, load average ${loadAtStart.toFixed(1)}`);
    print(`  gateway:  wrk -t${options.threads} -c${options.connections} -d${options.wrkSeconds}s --latency -H 'Host: ${host}' ${targets.gateway}`);
    print(`  baseline: wrk -t${options.threads} -c${options.connections} -d${options.wrkSeconds}s --latency -H 'Host: ${host}' ${targets.direct}  (straight to the container)`);
    print(`  busybox httpd answers "Connection: close" (listen backlog 9): direct, wrk reconnects per request and times from the write, after connecting;`);
    print(`  via the gateway, wrk keeps its connections to Caddy, and Caddy's connect to httpd, per request, is inside the time wrk measures`);
    print(`  ${options.runs} runs each, alternating which goes first; a ${WARMUP_SECONDS} s warm-up of each first (not counted)`);

    await wrk(targets.gateway, WARMUP_SECONDS);
    await wrk(targets.direct, WARMUP_SECONDS);
    const samples: Record<keyof typeof targets, WrkResult[]> = { gateway: [], direct: [] };
    for (let run = 1; run <= options.runs; run++) {
      const order = run % 2 ? (["gateway", "direct"] as const) : (["direct", "gateway"] as const);
      for (const which of order) {
        await interruption.checkpoint();
        const result = await wrk(targets[which], options.wrkSeconds);
        samples[which].push(result);
        print(`  run ${run} ${which.padEnd(7)}  ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${ms(result.latencyMs.p50)}  p99 ${ms(result.latencyMs.p99)}${problems(result)}`);
      }
    }

    const medians = (xs: WrkResult[]) => ({
      requestsPerSec: round(median(xs.map((x) => x.requestsPerSec)), 1),
      p50Ms: round(median(xs.map((x) => x.latencyMs.p50))),
      p99Ms: round(median(xs.map((x) => x.latencyMs.p99))),
    });
    const gateway = medians(samples.gateway);
    const direct = medians(samples.direct);
    const ratio = {
      requestsPerSec: round(gateway.requestsPerSec / direct.requestsPerSec),
      p50: round(gateway.p50Ms / direct.p50Ms),
      p99: round(gateway.p99Ms / direct.p99Ms),
    };
    print(`  gateway (median of ${options.runs})  ${gateway.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${ms(gateway.p50Ms)}  p99 ${ms(gateway.p99Ms)}`);
    print(`  direct  (median of ${options.runs})  ${direct.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${ms(direct.p50Ms)}  p99 ${ms(direct.p99Ms)}`);
    print(`  gateway/direct: throughput ${times(ratio.requestsPerSec)}, p50 latency ${times(ratio.p50)}, p99 latency ${times(ratio.p99)}`);
    await interruption.checkpoint();
    const acrossRestarts = await throughRestarts(cluster, () => wrk(targets.gateway, options.restartSeconds), options.restartSeconds);
    const failedInCountedRuns = samples.gateway.reduce((n, r) => n + failures(r), 0);
    print(`  across ployzd restarts (SIGTERM + start, kill -9 + start) in ${options.restartSeconds} s of wrk through the gateway:`);
    print(`    ${acrossRestarts.wrk.requests} requests, ${acrossRestarts.failed} failed${problems(acrossRestarts.wrk)}; ployzd down ${ms(acrossRestarts.ployzdDownMs.stop)} (stop) and ${ms(acrossRestarts.ployzdDownMs.kill)} (kill -9); counted gateway runs without restarts: ${failedInCountedRuns} failed`);
    const loadAtEnd = loadavg()[0]!;
    print(`  1-minute load average: ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end`);
    return {
      runs: options.runs,
      wrk: { threads: options.threads, connections: options.connections, seconds: options.wrkSeconds },
      cpus: availableParallelism(),
      loadAverage: { start: round(loadAtStart, 2), end: round(loadAtEnd, 2) },
      gateway,
      direct,
      ratio,
      samples,
      acrossRestarts: { seconds: options.restartSeconds, requests: acrossRestarts.wrk.requests, failed: acrossRestarts.failed, failedInCountedRuns, ployzdDownMs: acrossRestarts.ployzdDownMs, wrk: acrossRestarts.wrk },
    };
  });
}

/** Failed requests of a wrk run: non-2xx responses and socket errors. */
const failures = (r: WrkResult) => r.non2xx + r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout;

/**
 * A wrk run through the gateway while ployzd is stopped and started (at 15% of the run), then
 * killed with -9 and started (at 55%); resolves with its report and how long ployzd was away.
 */
async function throughRestarts(cluster: TestCluster, run: () => Promise<WrkResult>, seconds: number) {
  const pidFile = dataPaths(cluster.home.dataDir).daemonPid;
  const restart = async (signal: "SIGTERM" | "SIGKILL") => {
    const pid = readPid(pidFile);
    if (!pid) throw new Error(`no ployzd pid in ${pidFile}`);
    const started = performance.now();
    process.kill(pid, signal);
    if (!(await waitForExit(pid, 20_000))) throw new Error(`ployzd ${pid} did not exit within 20 s of ${signal}`);
    await startDevDaemon(cluster.home);
    return performance.now() - started;
  };
  const running = run();
  await sleep(seconds * 150);
  const stop = await restart("SIGTERM");
  await sleep(Math.max(0, seconds * 550 - stop - seconds * 150));
  const kill = await restart("SIGKILL");
  const wrk = await running;
  return { wrk, failed: failures(wrk), ployzdDownMs: { stop: round(stop), kill: round(kill) } };
}

/** Fails before anything starts when wrk is not installed: no number is better than a made-up one. */
function requireWrk(): void {
  try {
    execFileSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" });
  } catch (error) {
    throw new ProgramMissingError("wrk is not installed, so there is nothing to measure the gateway with", { hint: "apt-get install wrk", cause: error });
  }
}

/** Runs wrk to the end (stopped by the Cleanup if the benchmark is interrupted) and parses its report. */
async function runWrk(cleanup: Cleanup, options: { threads: number; connections: number; seconds: number; url: string; host: string }): Promise<WrkResult> {
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, "--latency", "-H", `Host: ${options.host}`, options.url];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
  const stop = cleanup.add("stop wrk", async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited.catch(() => undefined);
  });
  try {
    const code = await exited;
    if (code !== 0) throw new Error(`wrk ${args.join(" ")} exited with code ${code}: ${output.trim()}`);
  } finally {
    await stop();
  }
  return parseWrk(output);
}

/** Requests/sec, the latency distribution, non-2xx responses and socket errors from wrk's report. */
export function parseWrk(report: string): WrkResult {
  const number = (pattern: RegExp, what: string) => {
    const match = pattern.exec(report);
    if (!match) throw new Error(`wrk's report has no ${what}:\n${report}`);
    return Number(match[1]);
  };
  const latency = (percent: number) => {
    const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(report);
    if (!match) throw new Error(`wrk's report has no ${percent}% latency (was --latency given?):\n${report}`);
    const unit = { us: 0.001, ms: 1, s: 1_000, m: 60_000 }[match[2] as "us" | "ms" | "s" | "m"];
    return Number(match[1]) * unit;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report);
  const result: WrkResult = {
    requestsPerSec: number(/^Requests\/sec:\s+([\d.]+)/m, "Requests/sec"),
    requests: number(/^\s*(\d+) requests in /m, "request count"),
    latencyMs: { p50: latency(50), p75: latency(75), p90: latency(90), p99: latency(99) },
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? 0),
    socketErrors: socket ? { connect: Number(socket[1]), read: Number(socket[2]), write: Number(socket[3]), timeout: Number(socket[4]) } : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
  if (result.requests === 0) throw new Error(`wrk completed no request:\n${report}`);
  return result;
}

/** "  (12 non-2xx, socket errors read 3)" when wrk saw any, else "". */
function problems(result: WrkResult): string {
  const errors = Object.entries(result.socketErrors).filter(([, n]) => n > 0);
  const parts = [...(result.non2xx ? [`${result.non2xx} non-2xx`] : []), ...(errors.length ? [`socket errors ${errors.map(([k, n]) => `${k} ${n}`).join(", ")}`] : [])];
  return parts.length ? `  (${parts.join("; ")} of ${result.requests})` : "";
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchGatewayThroughput(numberOptions(process.argv.slice(2), THROUGHPUT_DEFAULTS));
    printBench({ gatewayThroughput: result });
  });
}
