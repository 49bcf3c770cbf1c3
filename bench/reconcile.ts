/**
 * The reconciler, measured:
 *
 * 1. Convergence after kill -9 between the commit and routing: ployzd dies right after a deploy's
 *    commit landed (PLOYZ_FAULTS=deploy.after-commit:kill); from the restart until the namespace
 *    is converged (instance records, routing in every consumer, the gateway serving the new
 *    version, the replaced containers gone). Baseline in the same run: a plain restart of the
 *    same ployzd until ready.
 * 2. Idle cost: ployzd's CPU with N namespaces deployed, reconciling every 30 s (the default)
 *    and every second, against an interval of an hour (no reconcile in the window); per check
 *    = the extra CPU of the 1 s run over the number of checks it made.
 *
 *   npx tsx bench/reconcile.ts [--runs 5] [--namespaces 20] [--idle-seconds 30]
 */
import { rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { connectClient, type PloyzClient } from "../runtime/client.ts";
import { readContext } from "../runtime/context.ts";
import { devDown, devUp } from "../runtime/dev.ts";
import { createDocker } from "../runtime/docker.ts";
import { dataPaths } from "../runtime/paths.ts";
import { isAlive } from "../runtime/process.ts";
import { LABELS } from "../model/instance.ts";
import { createTestHome, readPid, stopEverything } from "../test/harness/daemon.ts";
import { ensureBusyboxImage } from "../test/harness/docker.ts";
import type { Cleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { removeLabelledContainers } from "./support/dev-cluster.ts";
import { httpdNamespace } from "./support/httpd-workload.ts";
import { withInterruptibleCleanup } from "./support/interruption.ts";
import { measureIdle } from "./support/proc-usage.ts";
import { ms, round, roundSummary, summarize, type Summary } from "./support/stats.ts";

export const RECONCILE_DEFAULTS = { runs: 5, namespaces: 20, idleSeconds: 30 };
export type ReconcileOptions = typeof RECONCILE_DEFAULTS;

export interface ReconcileResult {
  convergence: {
    runs: number;
    /** ployzd spawned → ready (client.json written), after the kill. */
    restartMs: Summary;
    /** ready → the namespace converged to the commit the dead coordinator made. */
    readyToConvergedMs: Summary;
    /** spawned → converged. */
    totalMs: Summary;
    /** Baseline: a plain restart (stop, start) until ready, same ployzd, same data. */
    plainRestartMs: Summary;
    ratioOfMedians: number;
  };
  idle: {
    namespaces: number;
    seconds: number;
    /** ployzd CPU, % of one core, per reconcile interval. */
    cpuPercent: { hourly: number; every30s: number; every1s: number };
    /** Extra CPU per namespace check, from the 1 s run against the hourly one. */
    cpuMsPerCheck: number;
    rssMiB: { hourly: number; every30s: number; every1s: number };
  };
}

/** A ployzd of the benchmark's own that can be restarted with other flags or faults. */
async function ownDaemon(cleanup: Cleanup) {
  const home = createTestHome();
  cleanup.add(`remove ${home.root}`, () => rmSync(home.root, { recursive: true, force: true }));
  cleanup.add("stop ployzd", () => stopEverything(home.dataDir));
  let client: PloyzClient | undefined;
  cleanup.add("close the client", () => client?.close());
  const base = ["--machine-id", "bench-reconcile", "--dns-port", "0", "--fault-injection"];
  return {
    home,
    get client() {
      return client!;
    },
    pid: () => readPid(dataPaths(home.dataDir).daemonPid)!,
    async start(extraArgs: string[] = [], env: Record<string, string> = {}): Promise<number> {
      const started = performance.now();
      await devUp({ dataDir: home.dataDir, env: { ...home.env, ...env }, extraArgs: [...base, ...extraArgs] });
      const elapsed = performance.now() - started;
      client = await connectClient(readContext(home.env, "dev"));
      return elapsed;
    },
    async stop(): Promise<void> {
      await client?.close().catch(() => undefined);
      client = undefined;
      await devDown({ dataDir: home.dataDir, timeoutMs: 20_000 });
    },
  };
}

/** Polls until `check` gives a value, every 20 ms, for at most `timeoutMs`. */
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function benchReconcile(options: ReconcileOptions, print: (line: string) => void = console.log): Promise<ReconcileResult> {
  ensureBusyboxImage();
  return await withInterruptibleCleanup(async (cleanup) => {
    const daemon = await ownDaemon(cleanup);
    const docker = createDocker(daemon.home.env);
    const token = randomBytes(3).toString("hex");
    const namespaces: string[] = [];
    cleanup.add("remove the benchmark's namespaces", async () => {
      for (const ns of namespaces) await removeLabelledContainers(docker, LABELS.namespace, ns);
    });
    await daemon.start();

    // ---- 1. convergence after kill -9 right after the commit
    print(`convergence after kill -9 between the commit and routing: ${options.runs} runs`);
    const restart: number[] = [];
    const toConverged: number[] = [];
    const plain: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const ns = `rc-${token}-${run}`;
      namespaces.push(ns);
      await daemon.client.deploy({ spec: httpdNamespace(ns, { replicas: 2 }) });
      await daemon.stop();
      await daemon.start([], { PLOYZ_FAULTS: "deploy.after-commit:kill" });
      const pid = daemon.pid();
      const next = httpdNamespace(ns, { replicas: 2, env: { VERSION: "2" } });
      await daemon.client.deploy({ spec: next }).catch(() => undefined); // the coordinator dies after its commit
      await until(async () => (isAlive(pid) ? undefined : true), "ployzd to die");
      await daemon.client.close().catch(() => undefined);

      const started = performance.now();
      restart.push(await daemon.start());
      const want = (await daemon.client.history(ns)).commits.at(-1)!.seq;
      await until(async () => {
        const ps = await daemon.client.ps(ns);
        if (ps.instances.length !== 2 || !ps.instances.every((i) => i.commitSeq === want && i.live.ok && i.live.state === "running" && i.address)) return undefined;
        const running = (await docker.listContainers({ all: true, filters: { label: [`${LABELS.namespace}=${ns}`] } })).length;
        if (running !== 2) return undefined;
        const routes = await daemon.client.routes();
        const consumers = routes.machines.flatMap((m) => (m.ok ? m.consumers : []));
        const addresses = ps.instances.map((i) => i.address!).sort().join();
        return consumers.length === 2 && consumers.every((c) => c.services.some((s) => s.namespace === ns && s.commitSeq === want && [...s.backends].sort().join() === addresses)) ? true : undefined;
      }, `namespace ${ns} to converge`);
      toConverged.push(performance.now() - started - restart.at(-1)!);

      await daemon.stop();
      plain.push(await daemon.start());
      print(`  run ${run + 1}: restart ${ms(restart.at(-1)!)}, ready → converged ${ms(toConverged.at(-1)!)}; plain restart ${ms(plain.at(-1)!)}`);
    }
    const total = restart.map((r, i) => r + toConverged[i]!);
    const convergence = {
      runs: options.runs,
      restartMs: roundSummary(summarize(restart)),
      readyToConvergedMs: roundSummary(summarize(toConverged)),
      totalMs: roundSummary(summarize(total)),
      plainRestartMs: roundSummary(summarize(plain)),
      ratioOfMedians: round(summarize(total).p50 / summarize(plain).p50, 2),
    };
    print(`  median: restart → converged ${ms(convergence.totalMs.p50)} (ready → converged ${ms(convergence.readyToConvergedMs.p50)}) vs plain restart ${ms(convergence.plainRestartMs.p50)} (×${convergence.ratioOfMedians})`);

    // ---- 2. idle cost of reconciling N namespaces
    print(`idle cost: ${options.namespaces} namespaces, ${options.idleSeconds} s per interval setting`);
    for (let i = namespaces.length; i < options.namespaces; i++) {
      const ns = `rc-${token}-idle-${i}`;
      namespaces.push(ns);
      await daemon.client.deploy({ spec: httpdNamespace(ns, { replicas: 1 }) });
    }
    const idle = async (intervalMs: number) => {
      await daemon.stop();
      await daemon.start(["--reconcile-interval-ms", String(intervalMs)]);
      await new Promise((resolve) => setTimeout(resolve, 5_000)); // start-up checks and settling done
      return (await measureIdle({ ployzd: daemon.pid() }, options.idleSeconds)).ployzd;
    };
    const hourly = await idle(3_600_000);
    const every30s = await idle(30_000);
    const every1s = await idle(1_000);
    const checks = namespaces.length * options.idleSeconds;
    const result: ReconcileResult["idle"] = {
      namespaces: namespaces.length,
      seconds: options.idleSeconds,
      cpuPercent: { hourly: round(hourly.cpuPercent, 2), every30s: round(every30s.cpuPercent, 2), every1s: round(every1s.cpuPercent, 2) },
      cpuMsPerCheck: round(((every1s.cpuSeconds - hourly.cpuSeconds) * 1_000) / checks, 2),
      rssMiB: { hourly: round(hourly.rssEndBytes / 2 ** 20, 1), every30s: round(every30s.rssEndBytes / 2 ** 20, 1), every1s: round(every1s.rssEndBytes / 2 ** 20, 1) },
    };
    print(
      `  ployzd CPU: ${result.cpuPercent.hourly} % (no reconcile in the window), ${result.cpuPercent.every30s} % (every 30 s), ${result.cpuPercent.every1s} % (every 1 s); ` +
        `${result.cpuMsPerCheck} ms of CPU per namespace check; RSS ${result.rssMiB.every30s} MiB`,
    );
    return { convergence, idle: result };
  });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    printBench({ reconcile: await benchReconcile(numberOptions(process.argv.slice(2), RECONCILE_DEFAULTS)) });
  });
}
