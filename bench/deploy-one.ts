/**
 * `client.deploy` of one httpd replica with an HTTP readiness probe, from the call until it
 * resolves, against `docker run -d` of the same container plus the same readiness polling.
 *
 *   npx tsx bench/deploy-one.ts [--runs 5]
 */
import { randomBytes } from "node:crypto";
import { ensureBusyboxImage } from "../test/harness/docker.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { formatPhases, medianPhases, type DeployPhases } from "./support/deploy-log.ts";
import { removeLabelledContainers, startDevCluster } from "./support/dev-cluster.ts";
import { dockerRunHttpd } from "./support/docker-run.ts";
import { HTTPD_IMAGE, HTTPD_PORT, PROBE_INTERVAL_MS } from "./support/httpd-workload.ts";
import { withInterruptibleCleanup, withUndo } from "./support/interruption.ts";
import { median, ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";
import { timedHttpdDeploy } from "./support/timed-deploy.ts";

export const DEPLOY_ONE_DEFAULTS = { runs: 5 };
export type DeployOneOptions = typeof DEPLOY_ONE_DEFAULTS;

/** The issue's target: a one-replica deploy within 1.25× of docker run + readiness (deploy-integrity issue). */
export const DEPLOY_ONE_TARGET_RATIO = 1.25;

/** Label of the baseline's containers, so clean-up finds them whatever happened. */
const BASELINE_LABEL = "ployz.bench";

export interface DeployOneResult {
  runs: number;
  /** Call → resolve of `client.deploy` (every instance ready and committed). */
  ployzMs: Summary;
  /** dockerode create+start+inspect, then GET / every 100 ms until 200. */
  baselineMs: Summary;
  ratioOfMedians: number;
  targetRatio: number;
  /** The baseline split: until the container runs and has an address, then until HTTP 200. */
  baselineSplitMedianMs: { createStartInspectMs: number; untilHttp200Ms: number };
  /** Median of each phase, from `ployzd.log` (null if the log could not be read). */
  phasesMedianMs: DeployPhases | null;
  /** The untimed first round: the first deploy after ployzd started, and its baseline. */
  warmup: { ployzMs: number; baselineMs: number };
  samples: { ployzMs: number[]; baselineMs: number[] };
}

/** Runs the one-replica deploy benchmark against a ployzd of its own, printing as it goes. */
export async function benchDeployOne(options: DeployOneOptions, print: (line: string) => void = console.log): Promise<DeployOneResult> {
  ensureBusyboxImage();
  return await withInterruptibleCleanup(async (cleanup, interruption) => {
    const cluster = await startDevCluster(cleanup, "bench-deploy-one");
    const token = randomBytes(4).toString("hex");
    const removeBaseline = () => removeLabelledContainers(cluster.docker, BASELINE_LABEL, token);
    cleanup.add("remove the baseline's containers", removeBaseline);
    const plainRun = () => withUndo(cleanup, "remove the baseline container", () => dockerRunHttpd(cluster.docker, { [BASELINE_LABEL]: token }), removeBaseline);
    const deploy = () => timedHttpdDeploy(cluster, cleanup, "bench-one", 1);

    print(`deploy one replica: ${options.runs} runs each, interleaved; machine ${cluster.machineId}`);
    print(`  ployz: client.deploy of a fresh namespace, 1× ${HTTPD_IMAGE} httpd, readiness http :${HTTPD_PORT}/ every ${PROBE_INTERVAL_MS} ms, until it resolves`);
    print(`  baseline: docker create+start (same image, command, --init) via dockerode, then GET / every ${PROBE_INTERVAL_MS} ms until 200`);

    // The first deploy after start-up pays for lazy code paths; it is shown, not counted.
    const warmDeploy = await deploy();
    const warmBaseline = await plainRun();
    print(`  warm-up: ployz ${ms(warmDeploy.ms)}, baseline ${ms(warmBaseline.readyMs)} (not counted)`);

    const ployz: number[] = [];
    const baseline: number[] = [];
    const split: Array<{ createStartInspectMs: number; untilHttp200Ms: number }> = [];
    const phases: DeployPhases[] = [];
    for (let run = 1; run <= options.runs; run++) {
      // Alternating which goes first, so neither always runs on the other's leftovers.
      const order = run % 2 ? (["ployz", "baseline"] as const) : (["baseline", "ployz"] as const);
      for (const which of order) {
        await interruption.checkpoint();
        if (which === "ployz") {
          const timed = await deploy();
          ployz.push(timed.ms);
          if (timed.phases) phases.push(timed.phases);
        } else {
          const plain = await plainRun();
          baseline.push(plain.readyMs);
          split.push({ createStartInspectMs: plain.startedMs, untilHttp200Ms: plain.readyMs - plain.startedMs });
        }
      }
      const last = phases.at(-1);
      print(`  run ${run}: ployz ${ms(ployz.at(-1)!)}, baseline ${ms(baseline.at(-1)!)}${last ? `  [${formatPhases(last)}]` : ""}`);
    }

    const p = summarize(ployz);
    const b = summarize(baseline);
    const ratioOfMedians = round(p.p50 / b.p50);
    const phasesMedianMs = medianPhases(phases);
    const baselineSplitMedianMs = {
      createStartInspectMs: round(median(split.map((s) => s.createStartInspectMs)), 1),
      untilHttp200Ms: round(median(split.map((s) => s.untilHttp200Ms)), 1),
    };
    print(`  ployz deploy                 median ${ms(p.p50)}  min ${ms(p.min)}  max ${ms(p.max)}`);
    print(`  docker run + readiness       median ${ms(b.p50)}  min ${ms(b.min)}  max ${ms(b.max)}  (create+start+inspect ${ms(baselineSplitMedianMs.createStartInspectMs)}, then ${ms(baselineSplitMedianMs.untilHttp200Ms)} to HTTP 200)`);
    print(`  ratio of medians ployz/baseline ${times(ratioOfMedians)} (target ≤ ${times(DEPLOY_ONE_TARGET_RATIO)}: ${ratioOfMedians <= DEPLOY_ONE_TARGET_RATIO ? "met" : "NOT met"})`);
    if (phasesMedianMs) print(`  ployz phases, median: ${formatPhases(phasesMedianMs)}`);
    return {
      runs: options.runs,
      ployzMs: roundSummary(p),
      baselineMs: roundSummary(b),
      ratioOfMedians,
      targetRatio: DEPLOY_ONE_TARGET_RATIO,
      baselineSplitMedianMs,
      phasesMedianMs,
      warmup: { ployzMs: round(warmDeploy.ms), baselineMs: round(warmBaseline.readyMs) },
      samples: { ployzMs: ployz.map((x) => round(x)), baselineMs: baseline.map((x) => round(x)) },
    };
  });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchDeployOne(numberOptions(process.argv.slice(2), DEPLOY_ONE_DEFAULTS));
    printBench({ deployOne: result });
  });
}
