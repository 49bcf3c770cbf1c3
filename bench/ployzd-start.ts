/**
 * ployzd start-to-ready, first start and warm restart, against a bare nats-server started the
 * way the integration tests start one; then ployzd's idle CPU and memory, and its nats-server's.
 *
 *   npx tsx bench/ployzd-start.ts [--runs 5] [--idle-seconds 60] [--settle-seconds 5]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopLeftServing } from "../runtime/dev.ts";
import { startTestNats } from "../test/harness/nats.ts";
import { withCleanup, type Cleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { startPloyzd, type PloyzdProcess, type StartPhases, type StopOutcome } from "./support/ployzd-process.ts";
import { measureIdle, readProcess, type IdleUsage } from "./support/proc-usage.ts";
import { median, mib, ms, round, summarize, times } from "./support/stats.ts";

/** Starts a ployzd owned by the run's Cleanup; `release` stops it. */
type Launch = (dir: string, machineId: string) => Promise<{ value: PloyzdProcess; release: () => Promise<StopOutcome | undefined> }>;

const STOP_AFTER_READY_MS = 0;

/** The issue's targets: start-to-ready over a bare nats-server's; idle RSS and CPU of ployzd's node process. */
export const START_TARGETS = { ratioToNatsServer: 8, idleRssMiB: 80, idleCpuPercent: 0.5 };

export const START_DEFAULTS = { runs: 5, idleSeconds: 60, settleSeconds: 5 };
export type StartOptions = typeof START_DEFAULTS;

interface Timings {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

export interface StartResult {
  runs: number;
  natsServer: Timings;
  firstStart: Timings & { ratioToNatsServer: number; phasesMedianMs: StartPhases | null };
  warmRestart: Timings & { ratioToNatsServer: number; phasesMedianMs: StartPhases | null };
  /** Over the clean stops only; `unclean` counts exits by signal, SIGKILLs and orphaned nats-servers. */
  stop: (Timings | { medianMs: null }) & { unclean: { killedBySignal: number; forced: number; natsOutlived: number } };
  idle: {
    seconds: number;
    settleSeconds: number;
    ployzd: IdleUsage;
    ployzdNatsServer: IdleUsage;
    bareNatsServer: IdleUsage;
    bareNode: IdleUsage;
    ratios: { natsRssToBare: number; natsCpuToBare: number | null; ployzdRssToBareNode: number };
  };
}

/** Runs the start-up benchmark, printing human-readable lines as it goes. */
export async function benchPloyzdStart(options: StartOptions, print: (line: string) => void = console.log): Promise<StartResult> {
  return await withCleanup(async (cleanup) => {
    const root = mkdtempSync(join(tmpdir(), "ployz-bench-start-"));
    cleanup.add(`remove ${root}`, () => rmSync(root, { recursive: true, force: true }));
    // ployzd writes no context itself, but nothing it runs may touch the user's ~/.config/ployz.
    const env = { ...process.env, XDG_CONFIG_HOME: join(root, "config") };
    /** `keepServing`: stopping leaves its Caddy and DNS process serving, as a stopping ployzd does, for the next start to adopt. */
    const launch = (dir: string, machineId: string, keepServing = false) => {
      const dataDir = join(root, dir);
      cleanup.add(`stop the Caddy and DNS process of ${dir}`, () => stopLeftServing(dataDir));
      return cleanup.own(`stop ployzd in ${dir}`, startPloyzd({ dataDir, machineId, env }), (p) => p.stop(undefined, { keepServing }));
    };

    print(`ployzd start-to-ready: ${options.runs} runs each, interleaved; baseline: bare nats-server (JetStream, loopback, free port)`);
    // One untimed start so the page cache is warm (and the bundle rebuilt if stale) for every run alike.
    await stopSoon(await launch("warmup", "bench-warmup"));

    const nats: number[] = [];
    const first: number[] = [];
    const warm: number[] = [];
    const firstPhases: StartPhases[] = [];
    const warmPhases: StartPhases[] = [];
    const stops: StopOutcome[] = [];
    for (let run = 1; run <= options.runs; run++) {
      nats.push(await timeBareNats(cleanup));
      for (const [samples, phases, restart] of [[first, firstPhases, true], [warm, warmPhases, false]] as const) {
        // The same directory twice: first start on an empty one, then a restart on what it left,
        // which adopts the Caddy and DNS process the first one left serving.
        const { value: ployzd, release } = await launch(`run-${run}`, `bench-${run}`, restart);
        samples.push(ployzd.readyMs);
        if (ployzd.phases) phases.push(ployzd.phases);
        stops.push(await stopSoon({ value: ployzd, release }));
      }
      print(`  run ${run}: nats-server ${ms(nats.at(-1)!)}, ployzd first start ${ms(first.at(-1)!)}, warm restart ${ms(warm.at(-1)!)}`);
    }

    const natsServer = timings(nats);
    const firstStart = { ...timings(first), ratioToNatsServer: round(median(first) / median(nats)), phasesMedianMs: medianPhases(firstPhases) };
    const warmRestart = { ...timings(warm), ratioToNatsServer: round(median(warm) / median(nats)), phasesMedianMs: medianPhases(warmPhases) };
    const cleanStops = stops.filter((s) => s.clean).map((s) => s.stopMs);
    const unclean = {
      killedBySignal: stops.filter((s) => s.exit.signal !== null).length,
      forced: stops.filter((s) => s.forced).length,
      natsOutlived: stops.filter((s) => s.natsOutlived).length,
    };
    const stop = { ...(cleanStops.length ? timings(cleanStops) : { medianMs: null }), unclean };
    print(`  bare nats-server        median ${ms(natsServer.medianMs)}  (min ${ms(natsServer.minMs)}, max ${ms(natsServer.maxMs)})  baseline`);
    const target = (ratio: number) => `target ≤ ×${START_TARGETS.ratioToNatsServer}: ${ratio <= START_TARGETS.ratioToNatsServer ? "met" : "MISSED"}`;
    print(`  ployzd first start      median ${ms(firstStart.medianMs)}  (min ${ms(firstStart.minMs)}, max ${ms(firstStart.maxMs)})  ${times(firstStart.ratioToNatsServer)} nats-server  ${target(firstStart.ratioToNatsServer)}`);
    print(`  ployzd warm restart     median ${ms(warmRestart.medianMs)}  (min ${ms(warmRestart.minMs)}, max ${ms(warmRestart.maxMs)})  ${times(warmRestart.ratioToNatsServer)} nats-server  ${target(warmRestart.ratioToNatsServer)}`);
    for (const [label, phases] of [["first start", firstStart.phasesMedianMs], ["warm restart", warmRestart.phasesMedianMs]] as const) {
      if (phases) print(`    ${label} phases (median, from ployzd.log): boot ${ms(phases.bootMs)}, nats-server ${ms(phases.natsMs)}, caddy ${ms(phases.caddyMs)}, store+actors ${ms(phases.nodeMs)}`);
    }
    const uncleanNote = unclean.killedBySignal + unclean.forced + unclean.natsOutlived
      ? `  UNCLEAN: ${unclean.killedBySignal} killed by the signal, ${unclean.forced} needed SIGKILL, ${unclean.natsOutlived} left nats-server running`
      : "";
    print(`  ployzd stop (SIGTERM)   ${"maxMs" in stop ? `median ${ms(stop.medianMs)}  (min ${ms(stop.minMs)}, max ${ms(stop.maxMs)})` : "no clean stop"}  ${cleanStops.length}/${stops.length} clean${uncleanNote}`);

    const idle = await benchIdle(cleanup, launch, options, print);
    return { runs: options.runs, natsServer, firstStart, warmRestart, stop, idle };
  });
}

/** One ployzd idle next to a bare nats-server and a bare node process, all measured at once. */
async function benchIdle(
  cleanup: Cleanup,
  launch: Launch,
  options: StartOptions,
  print: (line: string) => void,
): Promise<StartResult["idle"]> {
  const { value: ployzd } = await launch("run-1", "bench-1");
  const nats = (await cleanup.own("stop bare nats-server", startTestNats(), (n) => n.dispose())).value;
  const node = spawn(process.execPath, ["-e", "setInterval(() => {}, 1 << 30)"], { stdio: "ignore" });
  cleanup.add(`kill bare node ${node.pid}`, () => void node.kill("SIGKILL"));
  if (readProcess(ployzd.natsPid).ppid !== ployzd.pid) throw new Error(`nats-server pid ${ployzd.natsPid} (nats/nats-server.pid) is not a child of ployzd ${ployzd.pid}`);

  print(`idle: ${options.settleSeconds} s settle, then ${options.idleSeconds} s measured (CPU% of one core, RSS = VmRSS)`);
  await new Promise((resolve) => setTimeout(resolve, options.settleSeconds * 1_000));
  const usage = await measureIdle({ ployzd: ployzd.pid, ployzdNatsServer: ployzd.natsPid, bareNatsServer: nats.server.pid, bareNode: node.pid! }, options.idleSeconds);
  const ratios = {
    natsRssToBare: round(usage.ployzdNatsServer.rssEndBytes / usage.bareNatsServer.rssEndBytes),
    natsCpuToBare: usage.bareNatsServer.cpuSeconds > 0 ? round(usage.ployzdNatsServer.cpuSeconds / usage.bareNatsServer.cpuSeconds) : null,
    ployzdRssToBareNode: round(usage.ployzd.rssEndBytes / usage.bareNode.rssEndBytes),
  };
  const line = (label: string, u: IdleUsage, note = "") =>
    print(`  ${label.padEnd(22)} cpu ${u.cpuPercent.toFixed(2)} %  rss ${mib(u.rssEndBytes)} (start ${mib(u.rssStartBytes)}, max ${mib(u.rssMaxBytes)})${note}`);
  // Idle is the end of the window: V8 gives back what the start grew in the first seconds (the max shows that peak).
  const rssMiB = usage.ployzd.rssEndBytes / 1024 / 1024;
  const targets = `targets: idle rss ≤ ${START_TARGETS.idleRssMiB} MiB ${rssMiB <= START_TARGETS.idleRssMiB ? "met" : "MISSED"}, cpu ≤ ${START_TARGETS.idleCpuPercent} % ${usage.ployzd.cpuPercent <= START_TARGETS.idleCpuPercent ? "met" : "MISSED"}`;
  line("ployzd (node)", usage.ployzd, `  rss ${times(ratios.ployzdRssToBareNode)} bare node; ${targets}`);
  line("ployzd's nats-server", usage.ployzdNatsServer, `  rss ${times(ratios.natsRssToBare)}, cpu ${ratios.natsCpuToBare === null ? "n/a (baseline used no CPU)" : times(ratios.natsCpuToBare)} bare nats-server`);
  line("bare nats-server", usage.bareNatsServer, "  baseline");
  line("bare node -e", usage.bareNode, "  baseline");
  return {
    seconds: options.idleSeconds,
    settleSeconds: options.settleSeconds,
    ployzd: roundUsage(usage.ployzd),
    ployzdNatsServer: roundUsage(usage.ployzdNatsServer),
    bareNatsServer: roundUsage(usage.bareNatsServer),
    bareNode: roundUsage(usage.bareNode),
    ratios,
  };
}

/**
 * Stops a just-started ployzd. It prints "ready" before it installs its SIGTERM handler, and a
 * SIGTERM in that gap kills it outright (orphaning its nats-server), so the stop waits a moment.
 */
async function stopSoon(launched: Awaited<ReturnType<Launch>>): Promise<StopOutcome> {
  await new Promise((resolve) => setTimeout(resolve, STOP_AFTER_READY_MS));
  return (await launched.release())!;
}

/** Start-to-ready of a bare nats-server through the tests' launcher (same start-up code as ployzd's). */
async function timeBareNats(cleanup: Cleanup): Promise<number> {
  const started = performance.now();
  const { release } = await cleanup.own("stop bare nats-server", startTestNats(), (n) => n.dispose());
  const elapsed = performance.now() - started;
  await release();
  return elapsed;
}

function timings(samples: number[]): Timings {
  const s = summarize(samples);
  return { medianMs: round(s.p50), minMs: round(s.min), maxMs: round(s.max), samplesMs: samples.map((x) => round(x)) };
}

function medianPhases(phases: StartPhases[]): StartPhases | null {
  if (phases.length === 0) return null;
  return {
    bootMs: median(phases.map((p) => p.bootMs)),
    natsMs: median(phases.map((p) => p.natsMs)),
    caddyMs: median(phases.map((p) => p.caddyMs)),
    nodeMs: median(phases.map((p) => p.nodeMs)),
  };
}

function roundUsage(u: IdleUsage): IdleUsage {
  return { ...u, cpuPercent: round(u.cpuPercent), cpuSeconds: round(u.cpuSeconds) };
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchPloyzdStart(numberOptions(process.argv.slice(2), START_DEFAULTS));
    printBench({ ployzdStart: result });
  });
}
