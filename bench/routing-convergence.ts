/**
 * Routing convergence: from a commit to the gateway serving the new backend, over a series of
 * deploys that each replace the one instance of a routed service, against the round trip of one
 * request through the gateway (what the same polling loop needs to see a change that needs no
 * propagation).
 *
 *   npx tsx bench/routing-convergence.ts [--deploys 50] [--baseline-requests 20]
 */
import { Resolver } from "node:dns/promises";
import { request, type IncomingHttpHeaders } from "node:http";
import { availableParallelism, loadavg } from "node:os";
import type { NatsConnection } from "@nats-io/transport-node";
import { commitSchema } from "../model/commit.ts";
import { routingRecordSchema, routingSubject } from "../model/routing.ts";
import { dataPaths } from "../runtime/paths.ts";
import { aNamespaceSpec, httpService, startTestCluster, type TestCluster } from "../test/harness/cluster.ts";
import { connectAsMachine } from "../test/harness/daemon.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { formatPhases, medianPhases, readDeployPhases, type DeployPhases } from "./support/deploy-log.ts";
import { withInterruptibleCleanup } from "./support/interruption.ts";
import { ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";

export const CONVERGENCE_DEFAULTS = { deploys: 50, baselineRequests: 20 };
export type ConvergenceOptions = typeof CONVERGENCE_DEFAULTS;

/** The issue's target: the gateway serves a new commit within 100 ms (p99). */
export const CONVERGENCE_TARGET_P99_MS = 100;

/** Pause between two polls of the gateway (each poll is a fresh connection). */
const POLL_PAUSE_MS = 1;
/** A poll loop that has not seen the new commit after this long fails the benchmark. */
const CONVERGENCE_TIMEOUT_MS = 15_000;
const SERVICE = "web";

export interface ConvergenceResult {
  deploys: number;
  cpus: number;
  /** 1-minute load average at the start and the end: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
  /** Where the clock starts and stops, in words. */
  method: { t0: string; t1: string; baseline: string };
  /** t0 (routing event arrives here) → t1 (first gateway response carrying the new commit). */
  convergenceMs: Summary;
  /** One GET through the gateway on a fresh connection, measured between the deploys. */
  baselineRequestMs: Summary;
  /** convergence / baseline, p50 to p50 and p99 to p99. */
  ratio: { p50: number; p99: number };
  targetP99Ms: number;
  targetMet: boolean;
  /** client.deploy call → resolve (includes waiting for the gateways and the 500 ms drain). */
  deployMs: Summary;
  phasesMedianMs: DeployPhases | null;
  /**
   * Where the convergence time goes. Replacing an instance does not change Caddy's config: each
   * route resolves `<service>.<ns>.ployz.internal` from the cluster DNS (dynamic upstreams,
   * refreshed every 50 ms), so the path is routing event → DNS process → Caddy's next lookup.
   */
  breakdownMs: {
    /** commits.<ns> arrives → routing.<ns>.web arrives (before t0): instance records, routing read, publish. */
    commitToRoutingEvent: Summary | null;
    /** t0 → the cluster DNS answers the new backend (polled 1 ms apart): ordered consumer delivery, control socket, DNS process. */
    routingEventToDns: Summary | null;
    /** DNS answers it → the gateway serves it: Caddy's next lookup of the name (at most 50 ms apart) and the polling loop. */
    dnsToServed: Summary | null;
  };
  /** Polls per convergence (median), and requests that failed while polling (total, distinct messages). */
  polling: { pollsMedian: number; errors: number; errorMessages: string[] };
  /** The untimed rounds: the first deploy of the namespace and one replacement. */
  warmup: { firstDeployMs: number; replaceDeployMs: number; replaceConvergenceMs: number };
  samples: { convergenceMs: number[]; deployMs: number[] };
}

/** One deploy, as measured. */
interface Round {
  convergenceMs: number;
  deployMs: number;
  polls: number;
  errorMessages: string[];
  commitToRoutingEventMs: number | undefined;
  /** t0 → the DNS answers the new backend. */
  dnsMs: number | undefined;
  phases: DeployPhases | undefined;
}

/** Runs the convergence benchmark against a dev cluster of its own, printing as it goes. */
export async function benchRoutingConvergence(options: ConvergenceOptions, print: (line: string) => void = console.log): Promise<ConvergenceResult> {
  return await withInterruptibleCleanup(async (cleanup, interruption) => {
    const loadAtStart = loadavg()[0]!;
    const cluster = (await cleanup.own("dispose the test cluster", startTestCluster(), (c) => c.dispose())).value;
    const nc = (await cleanup.own("close the operator's NATS connection", connectAsMachine(cluster.home), (c) => c.close())).value;
    const namespace = cluster.namespace("bench-conv");
    const host = `${namespace}.bench.test`;
    const events = watchNamespace(nc, namespace);
    cleanup.add("stop watching the namespace", () => events.stop());
    await nc.flush();

    print(`routing convergence: ${options.deploys} deploys of ${namespace}/${SERVICE} (1 replica, readiness http every 50 ms), each changing an env var; machine ${cluster.machineId}, ${availableParallelism()} CPUs, load average ${loadAtStart.toFixed(1)}`);
    print(`  t0: the routing event (routing.${namespace}.${SERVICE}) arrives at a core NATS subscription in this process: the commit's routing record is durable in stream ROUTING`);
    print(`  t1: the first response through the gateway ${cluster.gateway} (Host: ${host}) answered by the new round's instance; polled from t0, a fresh connection each, ${POLL_PAUSE_MS} ms apart`);
    print(`  baseline: one GET through the gateway on a fresh connection (what the same loop needs to see a change that needs no propagation), ${options.baselineRequests} after each deploy`);

    const deploy = (n: number) => timedDeploy(cluster, events, namespace, host, n);
    // The first deploy creates the namespace; the first replacement pays for lazy code paths.
    const first = await deploy(0);
    const warm = await deploy(1);
    print(`  warm-up: first deploy ${ms(first.deployMs)}, first replacement ${ms(warm.deployMs)} converging in ${ms(warm.convergenceMs)} (not counted)`);

    const rounds: Round[] = [];
    const baseline: number[] = [];
    for (let i = 1; i <= options.deploys; i++) {
      await interruption.checkpoint();
      const r = await deploy(i + 1);
      rounds.push(r);
      for (let j = 0; j < options.baselineRequests; j++) baseline.push((await gatewayGet(cluster.gateway, host)).ms);
      if (i % 10 === 0 || i === options.deploys) {
        const recent = rounds.slice(-(((i - 1) % 10) + 1));
        print(`  deploys ${i - recent.length + 1}–${i}: convergence ${recent.map((x) => x.convergenceMs.toFixed(1)).join(" ")} ms; last deploy ${ms(r.deployMs)}`);
      }
    }

    const conv = summarize(rounds.map((r) => r.convergenceMs));
    const base = summarize(baseline);
    const dep = summarize(rounds.map((r) => r.deployMs));
    const ratio = { p50: round(conv.p50 / base.p50), p99: round(conv.p99 / base.p99) };
    const targetMet = conv.p99 < CONVERGENCE_TARGET_P99_MS;
    const summary = (xs: Array<number | undefined>) => {
      const known = xs.filter((x): x is number => x !== undefined);
      return known.length ? summarize(known) : null;
    };
    const breakdown = {
      commitToRoutingEvent: summary(rounds.map((r) => r.commitToRoutingEventMs)),
      routingEventToDns: summary(rounds.map((r) => r.dnsMs)),
      dnsToServed: summary(rounds.map((r) => (r.dnsMs === undefined ? undefined : r.convergenceMs - r.dnsMs))),
    };
    const phasesMedianMs = medianPhases(rounds.flatMap((r) => (r.phases ? [r.phases] : [])));
    const polls = summarize(rounds.map((r) => r.polls)).p50;
    const errorMessages = rounds.flatMap((r) => r.errorMessages);
    const distinctErrors = [...new Set(errorMessages)];

    const line = (label: string, x: Summary | null, note = "") =>
      print(`  ${label.padEnd(40)} ${x ? `p50 ${ms(x.p50)}  p90 ${ms(x.p90)}  p99 ${ms(x.p99)}  max ${ms(x.max)}` : "(not measured)"}${note ? `  ${note}` : ""}`);
    line("convergence (routing event → served)", conv, `target p99 < ${CONVERGENCE_TARGET_P99_MS} ms: ${targetMet ? "met" : "NOT met"}`);
    line("one gateway request (baseline)", base);
    print(`  ratio convergence/baseline: p50 ${times(ratio.p50)}, p99 ${times(ratio.p99)}`);
    print(`  where it goes (replacing an instance leaves Caddy's config as it is: its routes look the service up in the cluster DNS every 50 ms; seen in ${breakdown.routingEventToDns?.n ?? 0} of ${rounds.length} deploys):`);
    line("  commit record → routing event", breakdown.commitToRoutingEvent, "(before t0: instance records, routing read + publish)");
    line("  t0 → the DNS answers the new backend", breakdown.routingEventToDns, `(ployzd's consumer, control socket, DNS process; polled ${POLL_PAUSE_MS} ms apart)`);
    line("  DNS answers it → gateway serves it", breakdown.dnsToServed, "(Caddy's next lookup, at most 50 ms later, and the polling loop)");
    print(`  polls per convergence: median ${polls}; failed requests while polling: ${errorMessages.length}${distinctErrors.length ? ` (${distinctErrors.join("; ")})` : ""}`);
    print(`  deploy (client.deploy call → resolve) median ${ms(dep.p50)}  p99 ${ms(dep.p99)}  (includes waiting for the gateways and the 500 ms drain)`);
    print(phasesMedianMs ? `  deploy phases, median: ${formatPhases(phasesMedianMs)}` : "  deploy phases: not in ployzd.log (a milestone readDeployPhases needs is missing)");
    const loadAtEnd = loadavg()[0]!;
    print(`  1-minute load average: ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end`);

    const rounded = (x: Summary | null) => x && roundSummary(x);
    return {
      deploys: options.deploys,
      cpus: availableParallelism(),
      loadAverage: { start: round(loadAtStart, 2), end: round(loadAtEnd, 2) },
      method: {
        t0: `routing.<ns>.${SERVICE} message arrives at a core NATS subscription in the benchmark`,
        t1: `first gateway response (fresh connection, polled ${POLL_PAUSE_MS} ms apart) answered by the new round's instance`,
        baseline: "one gateway GET on a fresh connection, measured between deploys",
      },
      convergenceMs: roundSummary(conv),
      baselineRequestMs: roundSummary(base),
      ratio,
      targetP99Ms: CONVERGENCE_TARGET_P99_MS,
      targetMet,
      deployMs: roundSummary(dep),
      phasesMedianMs,
      breakdownMs: {
        commitToRoutingEvent: rounded(breakdown.commitToRoutingEvent),
        routingEventToDns: rounded(breakdown.routingEventToDns),
        dnsToServed: rounded(breakdown.dnsToServed),
      },
      polling: { pollsMedian: polls, errors: errorMessages.length, errorMessages: distinctErrors },
      warmup: { firstDeployMs: round(first.deployMs), replaceDeployMs: round(warm.deployMs), replaceConvergenceMs: round(warm.convergenceMs) },
      samples: { convergenceMs: rounds.map((r) => round(r.convergenceMs)), deployMs: rounds.map((r) => round(r.deployMs)) },
    };
  });
}

/**
 * Deploys the namespace with `ROUND=<n>` (so the instance is replaced), times convergence from
 * the routing event to the gateway serving the new commit, and the deploy until it resolves.
 */
async function timedDeploy(cluster: TestCluster, events: NamespaceEvents, namespace: string, host: string, n: number): Promise<Round> {
  const spec = aNamespaceSpec(namespace, {
    [SERVICE]: httpService(`round ${n}`, {
      env: { ROUND: String(n) },
      routes: [{ hostnames: [host], port: 8080 }],
      readiness: { type: "http", port: 8080, path: "/", interval: "50ms", timeout: "1s", retries: 100 },
    }),
  });
  const dnsName = `${SERVICE}.${namespace}.ployz.internal`;
  const before = await dnsAnswer(cluster.dns, dnsName);
  events.expectNext();
  const calledAt = Date.now();
  const started = performance.now();
  const deploying = cluster.client.deploy({ spec }).then((reply) => ({ reply, ms: performance.now() - started, resolvedAt: Date.now() }));
  deploying.catch(() => undefined); // a failure surfaces through the race below or the await after it
  const event = await Promise.race([events.nextRouting(), deploying.then(() => events.nextRouting())]);
  const [seen, dnsAt] = await Promise.all([pollUntilRound(cluster.gateway, host, n), pollDnsUntilChanged(cluster.dns, dnsName, before)]);
  const deployed = await deploying;
  if (deployed.reply.type !== "deployed" || deployed.reply.commitSeq !== event.commitSeq) {
    throw new Error(`deploy ${n} of ${namespace} answered ${deployed.reply.type} (commit ${deployed.reply.commitSeq}), but the routing event was for commit ${event.commitSeq}`);
  }
  const commitAt = events.commitArrivedAt();
  return {
    convergenceMs: seen.at - event.at,
    deployMs: deployed.ms,
    polls: seen.polls,
    errorMessages: seen.errorMessages,
    commitToRoutingEventMs: commitAt === undefined ? undefined : event.at - commitAt,
    dnsMs: dnsAt === undefined ? undefined : dnsAt - event.at,
    phases: deployed.reply.deployId ? readDeployPhases(dataPaths(cluster.home.dataDir).daemonLog, deployed.reply.deployId, calledAt, deployed.resolvedAt) : undefined,
  };
}

interface RoutingEvent {
  commitSeq: number;
  /** performance.now() when it arrived. */
  at: number;
}

/** What this benchmark hears of a namespace on NATS: its commit records and its routing events. */
interface NamespaceEvents {
  /** Forgets what was heard so far: the next commit and routing event count. */
  expectNext(): void;
  /** When (performance.now()) the next commit record arrived, if it has. */
  commitArrivedAt(): number | undefined;
  nextRouting(): Promise<RoutingEvent>;
  stop(): void;
}

/**
 * Core subscriptions on `commits.<ns>` and `routing.<ns>.web`: they see the JetStream publishes
 * as the server stores them. The arrival time is taken first thing in the callback.
 */
function watchNamespace(nc: NatsConnection, namespace: string): NamespaceEvents {
  let commitAt: number | undefined;
  let routing: RoutingEvent | undefined;
  let waiter: ((event: RoutingEvent) => void) | undefined;
  const commits = nc.subscribe(`commits.${namespace}`, {
    callback: (_error, msg) => {
      const at = performance.now();
      if (commitAt === undefined && commitSchema.safeParse(msg.json()).success) commitAt = at;
    },
  });
  const routes = nc.subscribe(routingSubject(namespace, SERVICE), {
    callback: (_error, msg) => {
      const at = performance.now();
      const record = routingRecordSchema.safeParse(msg.json());
      if (!record.success || routing) return;
      routing = { commitSeq: record.data.commitSeq, at };
      waiter?.(routing);
    },
  });
  return {
    expectNext() {
      commitAt = undefined;
      routing = undefined;
      waiter = undefined;
    },
    commitArrivedAt: () => commitAt,
    nextRouting: () => (routing ? Promise.resolve(routing) : new Promise((resolve) => (waiter = resolve))),
    stop() {
      commits.unsubscribe();
      routes.unsubscribe();
    },
  };
}

/** Polls the gateway until a response comes from round `round`'s instance (or a later one); `at` is when it arrived. */
async function pollUntilRound(gateway: string, host: string, round: number): Promise<{ at: number; polls: number; errorMessages: string[] }> {
  const deadline = performance.now() + CONVERGENCE_TIMEOUT_MS;
  const errorMessages: string[] = [];
  let last = "";
  for (let polls = 1; ; polls++) {
    try {
      const response = await gatewayGet(gateway, host);
      if (response.status === 200 && response.round !== undefined && response.round >= round) return { at: response.at, polls, errorMessages };
      last = `HTTP ${response.status}, round ${response.round ?? "none"}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
      errorMessages.push(last);
    }
    if (performance.now() > deadline) throw new Error(`the gateway did not serve round ${round} of ${host} within ${CONVERGENCE_TIMEOUT_MS} ms (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS));
  }
}

/**
 * GET / through the gateway with a Host header on a new connection: status, the round the
 * answering instance was deployed in (its body says `round N`), when the response ended
 * (performance.now()) and how long it took.
 */
async function gatewayGet(gateway: string, host: string): Promise<{ status: number; round: number | undefined; at: number; ms: number }> {
  const response = await requestOnce(new URL("/", gateway), { Host: host });
  const match = /^round (\d+)/.exec(response.body);
  return { status: response.status, round: match ? Number(match[1]) : undefined, at: response.at, ms: response.ms };
}

/** One GET on a connection of its own (Caddy closes idle keep-alive connections when it loads a config). */
function requestOnce(url: URL, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; at: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers, timeout: 5_000, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        const at = performance.now();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.trim(), at, ms: at - started });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The cluster DNS's A answer for `name`, sorted (empty for NXDOMAIN). */
async function dnsAnswer(dns: string, name: string): Promise<string[]> {
  const [host, port] = dns.split(":");
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([`${host}:${port}`]);
  try {
    return (await resolver.resolve4(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTFOUND") return [];
    throw error;
  }
}

/**
 * Asks the cluster DNS every millisecond until its answer is neither `before` nor empty; when
 * (performance.now()) that answer arrived. Undefined if it did not change within the timeout.
 */
async function pollDnsUntilChanged(dns: string, name: string, before: string[]): Promise<number | undefined> {
  const deadline = performance.now() + CONVERGENCE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const answer = await dnsAnswer(dns, name).catch(() => before);
    if (answer.length > 0 && answer.join() !== before.join()) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS));
  }
  return undefined;
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchRoutingConvergence(numberOptions(process.argv.slice(2), CONVERGENCE_DEFAULTS));
    printBench({ routingConvergence: result });
  });
}
