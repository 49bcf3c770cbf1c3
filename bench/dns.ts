/**
 * Queries per second and latency of the cluster DNS of a running ployzd, against a baseline
 * measured in the same run: a minimal dns-packet server in a process of its own on loopback,
 * answering the same A records from a static list. Both are asked the same way by one client in
 * this process (UDP, one socket), in interleaved rounds so drift hits both alike: one query at a
 * time for latency, `--window` queries in flight for throughput. No traffic leaves this host.
 *
 *   npx tsx bench/dns.ts [--backends 10] [--queries 20000] [--window 32] [--rounds 5]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { fileURLToPath } from "node:url";
import * as packet from "dns-packet";
import { aNamespaceSpec, httpService, startTestCluster } from "../test/harness/cluster.ts";
import { eventually } from "../test/harness/daemon.ts";
import { dig } from "../test/harness/dns.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { withInterruptibleCleanup } from "./support/interruption.ts";
import { ms, round, roundSummary, summarize, type Summary } from "./support/stats.ts";

export const DNS_DEFAULTS = { backends: 10, queries: 20_000, window: 32, rounds: 5 };
export type DnsBenchOptions = typeof DNS_DEFAULTS;

interface CaseResult {
  /** One query at a time. */
  latencyMs: Summary;
  /** `window` queries in flight: answered queries per second, and their latency. */
  qps: number;
  loadedLatencyMs: Summary;
  lost: number;
  replyBytes: number;
}

export interface DnsBenchResult {
  backends: number;
  queriesPerCase: number;
  window: number;
  baseline: CaseResult;
  cluster: CaseResult;
  qpsRatio: number;
  latencyP50Ratio: number;
}

const STATIC_SERVER = fileURLToPath(new URL("./support/static-dns-server.ts", import.meta.url));
const LOST_AFTER_MS = 1_000;

export async function benchDns(options: DnsBenchOptions, print: (line: string) => void = console.log): Promise<DnsBenchResult> {
  return await withInterruptibleCleanup(async (cleanup, interruption) => {
    const cluster = (await cleanup.own("dispose the test cluster", startTestCluster(), (c) => c.dispose())).value;
    const [dnsHost, dnsPort] = cluster.dns.split(":") as [string, string];
    const ns = cluster.namespace("benchdns");
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("dns", { replicas: options.backends, readiness: undefined }) }) });
    const name = `web.${ns}.ployz.internal`;
    const addresses = (await cluster.client.ps(ns)).instances.map((i) => i.address!);
    await eventually(async () => ((await dig(dnsHost, Number(dnsPort), name, "A", ["+tcp"])).answers.length === options.backends ? true : undefined), "the cluster DNS to serve every backend");
    await interruption.checkpoint();

    const baseline = (await cleanup.own("stop the baseline server", startStaticServer(addresses), (s) => s.child.kill("SIGTERM"))).value;
    const client = createSocket("udp4");
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", () => resolve()));
    cleanup.add("close the client socket", () => client.close());
    const targets = {
      baseline: { host: "127.0.0.1", port: baseline.port, name },
      cluster: { host: dnsHost, port: Number(dnsPort), name },
    };
    print(`DNS: A ${name} with ${options.backends} backends; ${options.rounds} interleaved rounds; baseline: a minimal dns-packet server (own process, loopback, static list)`);

    const query = new Client(client);
    // warm-up: JIT, caches, the cluster DNS's trust table
    for (const target of Object.values(targets)) await query.run(target, 500, 4);
    const latency: Record<keyof typeof targets, number[]> = { baseline: [], cluster: [] };
    const loaded: Record<keyof typeof targets, { latencies: number[]; answered: number; seconds: number; lost: number; bytes: number }> = {
      baseline: { latencies: [], answered: 0, seconds: 0, lost: 0, bytes: 0 },
      cluster: { latencies: [], answered: 0, seconds: 0, lost: 0, bytes: 0 },
    };
    const perRound = Math.ceil(options.queries / options.rounds);
    for (let r = 0; r < options.rounds; r++) {
      for (const key of Object.keys(targets) as Array<keyof typeof targets>) {
        await interruption.checkpoint();
        const single = await query.run(targets[key], Math.ceil(perRound / 10), 1);
        latency[key].push(...single.latencies);
        const busy = await query.run(targets[key], perRound, options.window);
        loaded[key].latencies.push(...busy.latencies);
        loaded[key].answered += busy.latencies.length;
        loaded[key].seconds += busy.seconds;
        loaded[key].lost += busy.lost + single.lost;
        loaded[key].bytes = busy.replyBytes;
      }
    }
    const result = (key: keyof typeof targets): CaseResult => ({
      latencyMs: roundSummary(summarize(latency[key]), 4),
      qps: Math.round(loaded[key].answered / loaded[key].seconds),
      loadedLatencyMs: roundSummary(summarize(loaded[key].latencies), 4),
      lost: loaded[key].lost,
      replyBytes: loaded[key].bytes,
    });
    const out = { baseline: result("baseline"), cluster: result("cluster") };
    for (const key of ["baseline", "cluster"] as const) {
      const c = out[key];
      print(
        `  ${(key === "baseline" ? "static dns-packet server" : "cluster DNS (ployzd)").padEnd(26)} ${String(c.qps).padStart(6)} q/s (window ${options.window}: p50 ${ms(c.loadedLatencyMs.p50)} p99 ${ms(c.loadedLatencyMs.p99)})   one at a time: p50 ${ms(c.latencyMs.p50)} p99 ${ms(c.latencyMs.p99)}   reply ${c.replyBytes} B, lost ${c.lost}`,
      );
    }
    const qpsRatio = round(out.cluster.qps / out.baseline.qps);
    const latencyP50Ratio = round(out.cluster.latencyMs.p50 / out.baseline.latencyMs.p50);
    print(`  cluster / baseline: throughput ×${qpsRatio}, one-at-a-time p50 ×${latencyP50Ratio}`);
    return { backends: options.backends, queriesPerCase: perRound * options.rounds, window: options.window, ...out, qpsRatio, latencyP50Ratio };
  });
}

async function startStaticServer(addresses: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", STATIC_SERVER, addresses.join(",")], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the baseline DNS server exited (code ${code}) before it listened`)));
    child.stdout!.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return { child, port };
}

/** Sends A queries from one UDP socket, keeping `window` in flight, and times each reply. */
class Client {
  private nextId = 0;
  private readonly pending = new Map<number, number>();
  private onReply: ((id: number, bytes: number) => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.on("message", (message) => {
      if (message.length >= 2) this.onReply?.(message.readUInt16BE(0), message.length);
    });
  }

  async run(target: { host: string; port: number; name: string }, count: number, window: number): Promise<{ latencies: number[]; seconds: number; lost: number; replyBytes: number }> {
    const latencies: number[] = [];
    let sent = 0;
    let lost = 0;
    let replyBytes = 0;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const send = () => {
        while (sent < count && this.pending.size < window) {
          const id = (this.nextId = (this.nextId + 1) & 0xffff);
          const bytes = packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name: target.name }] });
          this.pending.set(id, performance.now());
          sent++;
          this.socket.send(bytes, target.port, target.host);
        }
        if (sent >= count && this.pending.size === 0) {
          clearInterval(sweep);
          resolve();
        }
      };
      this.onReply = (id, bytes) => {
        const at = this.pending.get(id);
        if (at === undefined) return;
        this.pending.delete(id);
        latencies.push(performance.now() - at);
        replyBytes = bytes;
        send();
      };
      const sweep = setInterval(() => {
        const now = performance.now();
        for (const [id, at] of this.pending) {
          if (now - at > LOST_AFTER_MS) {
            this.pending.delete(id);
            lost++;
          }
        }
        send();
      }, 100);
      send();
    });
    return { latencies, seconds: (performance.now() - started) / 1000, lost, replyBytes };
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchDns(numberOptions(process.argv.slice(2), DNS_DEFAULTS));
    printBench({ dns: result });
  });
}
