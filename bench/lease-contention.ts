/**
 * How fast a second deploy of a namespace is refused while a slow deploy of it holds the lease,
 * against a bare request/reply on the same connection that moves the same bytes.
 *
 *   npx tsx bench/lease-contention.ts [--attempts 20] [--hold-seconds 3]
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { acquireLease, readLease, releaseLease } from "../actors/deploy/lease.ts";
import { requestJson } from "../actors/nats/request.ts";
import { deployReplySchema } from "../model/api-deploy.ts";
import { PloyzError } from "../model/errors.ts";
import type { NamespaceSpec } from "../model/manifest.ts";
import { subjects } from "../model/subjects.ts";
import { readIdentity } from "../runtime/keys.ts";
import { connectNats } from "../runtime/nats/connect.ts";
import { openStore, type Store } from "../runtime/store.ts";
import { dataPaths } from "../runtime/paths.ts";
import { contextIdentity } from "../runtime/context.ts";
import { inboxPrefix } from "../model/roles.ts";
import { ensureBusyboxImage } from "../test/harness/docker.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { readLeaseRefusals } from "./support/deploy-log.ts";
import { startDevCluster, type DevCluster } from "./support/dev-cluster.ts";
import { httpdNamespace } from "./support/httpd-workload.ts";
import { withInterruptibleCleanup } from "./support/interruption.ts";
import { median, ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";

export const LEASE_DEFAULTS = { attempts: 20, holdSeconds: 3 };
export type LeaseOptions = typeof LEASE_DEFAULTS;

/** The target: a refused deploy answers within 100 ms. */
export const LEASE_TARGET_MS = 100;

const WARMUP_ATTEMPTS = 3;
const REFUSAL = /^ployzd \(API\): deploy lease for namespace \S+ is held by /;

export interface LeaseResult {
  attempts: number;
  holdSeconds: number;
  /** A second `deploy` of the namespace, sent → LeaseHeldError received. */
  refusedMs: Summary;
  /** Bare request/reply on the same connection: same request bytes, the refusal's reply bytes. */
  baselineMs: Summary;
  ratioOfMedians: number;
  targetMs: number;
  /** Every refusal (max) within the target. */
  targetMet: boolean;
  /** Where the difference goes: the lease check alone (KV create, then get) from this process, and the daemon's split. */
  breakdown: { acquireLeaseDirectMs: Summary; phasesMedianMs: RefusalPhases | null };
  /** Slow deploys it took to hold the lease through every attempt. */
  holds: number;
  requestBytes: number;
  replyBytes: number;
}

/** Runs the lease contention benchmark against a ployzd of its own, printing as it goes. */
export async function benchLeaseContention(options: LeaseOptions, print: (line: string) => void = console.log): Promise<LeaseResult> {
  ensureBusyboxImage();
  return await withInterruptibleCleanup(async (cleanup, interruption) => {
    const cluster = await startDevCluster(cleanup, "bench-lease");
    // One connection for the refused deploys, the baseline and the direct lease checks. The deploy
    // requests go through requestJson on ployz.api.deploy, which is all PloyzClient.deploy does.
    const prefix = inboxPrefix(contextIdentity(cluster.context));
    const nc = (
      await cleanup.own(
        "close the NATS connection",
        connectNats({ servers: cluster.context.servers, seed: readIdentity(cluster.context.seedFile).seed, name: "bench lease-contention", inboxPrefix: prefix, reconnect: false }),
        (c) => c.close(),
      )
    ).value;
    // The direct lease checks do what a coordinator does: with the machine's identity.
    const machineNc = (
      await cleanup.own(
        "close the machine's NATS connection",
        connectNats({
          servers: cluster.context.servers,
          seed: readIdentity(dataPaths(cluster.dataDir).machineSeed).seed,
          name: "bench lease-contention (machine)",
          inboxPrefix: inboxPrefix({ role: "machine", name: cluster.machineId }),
          reconnect: false,
        }),
        (c) => c.close(),
      )
    ).value;
    const store = await openStore(machineNc);
    const { kv } = store;
    const namespace = cluster.newNamespace("bench-lease");
    const holdMs = options.holdSeconds * 1_000;

    print(`lease contention: ${options.attempts} refused deploys of namespace ${namespace}, sequential, interleaved with the baseline; machine ${cluster.machineId}`);
    print(`  holder: client.deploy of 1× httpd whose readiness probe has startPeriod ${ms(holdMs)}, so it holds the lease that long`);
    print(`  baseline: trivial responder in this process, same connection, same request bytes, answering the refusal's bytes`);

    let holding: Promise<void> | undefined;
    // Before the namespace's containers are removed, the deploy that holds the lease must be over.
    cleanup.add("let the holding deploy finish", () => holding?.catch(() => undefined));
    const startHold = async (index: number) => {
      const started = holdLease(cluster, kv.leases, namespace, holdMs, index);
      holding = started.done;
      await started.leaseTaken;
      return started;
    };
    let hold = await startHold(1);
    let holds = 1;
    const request = () => ({ spec: hold.spec, preview: false });
    const deploySubject = subjects.api("deploy");

    // A real refusal, for the baseline's reply bytes; it and a few more warm the path up.
    const sample = await nc.request(deploySubject, JSON.stringify(request()), { timeout: 10_000 });
    const canned = sample.data.slice();
    const requestBytes = Buffer.byteLength(JSON.stringify(request()));
    const echoSubject = `${prefix}.bench-echo`;
    const responder = nc.subscribe(echoSubject, { callback: (_error, msg) => void msg.respond(canned) });
    cleanup.add("unsubscribe the baseline responder", () => responder.unsubscribe());
    await nc.flush();

    const refused: Refusal[] = [];
    const baseline: number[] = [];
    const direct: number[] = [];
    let unexpected = 0;
    for (let i = 1 - WARMUP_ATTEMPTS; i <= options.attempts; ) {
      await interruption.checkpoint();
      if (hold.settled()) {
        await hold.done;
        hold = await startHold(++holds);
      }
      const order = i % 2 ? (["refused", "baseline", "direct"] as const) : (["direct", "baseline", "refused"] as const);
      let ok = true;
      const taken: { refused?: Refusal; baseline?: number; direct?: number } = {};
      for (const which of order) {
        if (which === "refused") {
          const result = await timeRefusal(nc, deploySubject, request());
          if (result === "deployed") ok = false;
          else taken.refused = result;
        } else if (which === "baseline") {
          const result = await timeRefusal(nc, echoSubject, request());
          if (result === "deployed") throw new Error("the baseline responder answered something other than the refusal");
          taken.baseline = result.ms;
        } else {
          const result = await timeDirectAcquire(store, namespace);
          if (result === "acquired") ok = false;
          else taken.direct = result;
        }
      }
      if (!ok) {
        // The holder finished between the check and the attempt: not a contended sample.
        unexpected++;
        if (unexpected > 5) throw new Error(`the lease was free in ${unexpected} attempts: raise --hold-seconds`);
        continue;
      }
      if (i >= 1) {
        refused.push(taken.refused!);
        baseline.push(taken.baseline!);
        direct.push(taken.direct!);
      }
      i++;
    }
    await hold.done;
    const sampleRefusal = JSON.parse(Buffer.from(canned).toString("utf8")) as { error?: { message?: string } };

    const r = summarize(refused.map((x) => x.ms));
    const phases = refusalPhases(cluster.logFile, namespace, refused);
    const b = summarize(baseline);
    const d = summarize(direct);
    const ratioOfMedians = round(r.p50 / b.p50);
    const targetMet = r.max < LEASE_TARGET_MS;
    const line = (label: string, x: Summary, note: string) =>
      print(`  ${label.padEnd(34)} p50 ${ms(x.p50)}  p90 ${ms(x.p90)}  p99 ${ms(x.p99)}  max ${ms(x.max)}  ${note}`);
    print(`  refusal: ${sampleRefusal.error?.message ?? "(no message)"}`);
    line("bare request/reply (baseline)", b, "baseline");
    line("deploy refused (LeaseHeldError)", r, `${times(ratioOfMedians)} baseline (ratio of medians); target < ${ms(LEASE_TARGET_MS)}: ${targetMet ? "met" : "NOT met"}`);
    line("  acquireLease direct (KV only)", d, "(create fails, then get; from this process)");
    if (phases) print(`  refusal split from ployzd.log (median of ${phases.matched}, ms resolution): request ${phases.requestMs} ms · lease check ${phases.leaseCheckMs} ms · reply ${phases.replyMs} ms`);
    print(`  ${holds} slow deploy(s) held the lease; ${unexpected} attempt(s) found it free and were repeated`);

    return {
      attempts: options.attempts,
      holdSeconds: options.holdSeconds,
      refusedMs: roundSummary(r),
      baselineMs: roundSummary(b),
      ratioOfMedians,
      targetMs: LEASE_TARGET_MS,
      targetMet,
      breakdown: { acquireLeaseDirectMs: roundSummary(d), phasesMedianMs: phases },
      holds,
      requestBytes,
      replyBytes: canned.length,
    };
  });
}

interface Hold {
  spec: NamespaceSpec;
  settled: () => boolean;
  /** The slow deploy's end (its failure is rethrown here). */
  done: Promise<void>;
  /** Resolves once the slow deploy's lease is in the store. */
  leaseTaken: Promise<void>;
}

/** Starts a slow deploy of `namespace`; each hold changes an env var, so it is a real change. */
function holdLease(cluster: DevCluster, leases: KV, namespace: string, holdMs: number, index: number): Hold {
  const spec = httpdNamespace(namespace, { replicas: 1, startPeriodMs: holdMs, env: { BENCH_HOLD: String(index) } });
  let settled = false;
  const done = cluster.client.deploy({ spec, preview: false }).then(
    (reply) => {
      settled = true;
      if (reply.type !== "deployed") throw new Error(`the holding deploy answered ${reply.type}, not deployed`);
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  done.catch(() => undefined); // awaited by the caller; not unhandled meanwhile
  const leaseTaken = (async () => {
    const deadline = Date.now() + 30_000;
    while (!(await readLease(leases, namespace))) {
      if (settled) await done;
      if (Date.now() > deadline) throw new Error(`the slow deploy of ${namespace} did not take the lease within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return { spec, settled: () => settled, done, leaseTaken };
}

/** Median split of a refusal (ms), from the daemon's log; `matched` refusals were found in it. */
export interface RefusalPhases {
  requestMs: number;
  leaseCheckMs: number;
  replyMs: number;
  matched: number;
}

/** A refusal as the benchmark saw it: its duration, and the wall clock around it (to find it in the log). */
interface Refusal {
  ms: number;
  calledAt: number;
  resolvedAt: number;
}

/** Sends a deploy request to `subject` and times the lease refusal; "deployed" if there was none. */
async function timeRefusal(nc: NatsConnection, subject: string, body: unknown): Promise<Refusal | "deployed"> {
  const calledAt = Date.now();
  const started = performance.now();
  try {
    await requestJson(nc, subject, body, deployReplySchema, { who: "ployzd (API)", timeoutMs: 60_000 });
    return "deployed";
  } catch (error) {
    const elapsed = performance.now() - started;
    if (error instanceof PloyzError && error.code === "lease-held" && REFUSAL.test(error.message)) return { ms: elapsed, calledAt, resolvedAt: Date.now() };
    throw error;
  }
}

/**
 * Splits each refusal by the daemon's log: request (sent → "lease started": NATS, API, request
 * validation, the deploy actor's start), lease check (→ "lease failed"), reply (→ received).
 * Log times have millisecond resolution; a refusal whose log lines are not found is left out.
 */
function refusalPhases(logFile: string, namespace: string, refusals: Refusal[]): RefusalPhases | null {
  const logged = readLeaseRefusals(logFile, namespace);
  const phases = refusals.flatMap((r) => {
    const match = logged.find((l) => l.leaseAt >= r.calledAt && l.failedAt <= r.resolvedAt);
    return match ? [{ requestMs: match.leaseAt - r.calledAt, leaseCheckMs: match.failedAt - match.leaseAt, replyMs: r.resolvedAt - match.failedAt }] : [];
  });
  if (phases.length === 0) return null;
  const med = (key: keyof (typeof phases)[number]) => round(median(phases.map((p) => p[key])), 1);
  return { requestMs: med("requestMs"), leaseCheckMs: med("leaseCheckMs"), replyMs: med("replyMs"), matched: phases.length };
}

/** The store part of a refusal, run here: acquireLease must fail; if the lease was free, it is given back. */
async function timeDirectAcquire(store: Store, namespace: string): Promise<number | "acquired"> {
  const started = performance.now();
  try {
    const value = { holder: "bench", deployId: "bench-direct", since: new Date().toISOString() };
    const held = await acquireLease(store.kv.leases, store.js, store.jsm, namespace, value);
    await releaseLease(store.kv.leases, namespace, value, held.revision);
    return "acquired";
  } catch (error) {
    const elapsed = performance.now() - started;
    if (error instanceof PloyzError && error.code === "lease-held") return elapsed;
    throw error;
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchLeaseContention(numberOptions(process.argv.slice(2), LEASE_DEFAULTS));
    printBench({ leaseContention: result });
  });
}
