/**
 * `client.deploy` of 20 httpd replicas on one machine, until it resolves, against
 * `docker service create --replicas 20 --detach=false` on a one-node swarm of this machine.
 *
 *   npx tsx bench/deploy-replicas.ts [--runs 3] [--replicas 20]
 */
import { randomBytes } from "node:crypto";
import { ensureBusyboxImage } from "../test/harness/docker.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { formatPhases, medianPhases, type DeployPhases } from "./support/deploy-log.ts";
import { removeLabelledContainers, startDevCluster } from "./support/dev-cluster.ts";
import { dockerRunHttpd } from "./support/docker-run.ts";
import { HTTPD_COMMAND, HTTPD_IMAGE, HTTPD_PORT, PROBE_INTERVAL_MS } from "./support/httpd-workload.ts";
import { withInterruptibleCleanup, withUndo } from "./support/interruption.ts";
import { ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";
import { createServiceTimed, removeLabelledServices, removeService, useLocalSwarm, type ServiceCreateTiming } from "./support/swarm.ts";
import { timedHttpdDeploy } from "./support/timed-deploy.ts";

export const DEPLOY_REPLICAS_DEFAULTS = { runs: 3, replicas: 20 };
export type DeployReplicasOptions = typeof DEPLOY_REPLICAS_DEFAULTS;

/** The issue's target: at most half of what swarm takes. */
export const DEPLOY_REPLICAS_TARGET_RATIO = 0.5;

const BENCH_LABEL = "ployz.bench";

/** A swarm variant's timings over the runs. */
export interface SwarmTimings {
  command: string;
  commandMs: Summary;
  createdMs: Summary;
  allRunningMs: Summary;
}

export interface DeployReplicasResult {
  runs: number;
  replicas: number;
  /** Call → resolve of `client.deploy`: every replica answered its HTTP probe and is committed. */
  ployzMs: Summary;
  phasesMedianMs: DeployPhases | null;
  /** Breakdown: the replicas started straight through dockerode, all at once, until each answers 200. */
  dockerAloneMs: Summary & { ratioOfMedians: number };
  warmup: { ployzMs: number };
  swarm:
    | { skipped: string }
    | {
        createdHere: boolean;
        /** The command as given: tasks `running` means the process started. */
        plain: SwarmTimings;
        /** The same with an HTTP healthcheck: swarm reports `running` only once healthy. */
        healthcheck: SwarmTimings;
        /** ployz / swarm until every task ran (plain): the headline, against the target. */
        ratioToAllRunning: number;
        /** ployz / the plain command's wall time (which includes the CLI's 5 s stability wait). */
        ratioToCommand: number;
        /** ployz / swarm until every task was healthy: the like-for-like readiness comparison. */
        ratioToHealthy: number;
        targetRatio: number;
      };
  samples: { ployzMs: number[]; dockerAloneMs: number[]; swarmPlainAllRunningMs: number[]; swarmHealthyAllRunningMs: number[] };
}

/** Runs the many-replica deploy benchmark, printing as it goes. */
export async function benchDeployReplicas(options: DeployReplicasOptions, print: (line: string) => void = console.log): Promise<DeployReplicasResult> {
  ensureBusyboxImage();
  return await withInterruptibleCleanup(async (cleanup, interruption) => {
    const cluster = await startDevCluster(cleanup, "bench-deploy-replicas");
    const token = randomBytes(4).toString("hex");
    const swarm = await useLocalSwarm(cluster.docker, cleanup);
    if (swarm.ok) cleanup.add("remove the benchmark's swarm services", () => removeLabelledServices(cluster.docker, BENCH_LABEL, token));
    const removePlain = () => removeLabelledContainers(cluster.docker, BENCH_LABEL, token);
    cleanup.add("remove the plain docker containers", removePlain);
    /** dockerd alone: every replica through dockerode at once, until each answers HTTP 200. */
    const plainParallel = (replicas: number): Promise<number> =>
      withUndo(
        cleanup,
        "remove the plain docker containers of this run",
        async () => {
          const started = performance.now();
          await Promise.all(Array.from({ length: replicas }, () => dockerRunHttpd(cluster.docker, { [BENCH_LABEL]: token })));
          return performance.now() - started;
        },
        removePlain,
      );

    const healthArgs = ["--health-cmd", `wget -q -O /dev/null http://127.0.0.1:${HTTPD_PORT}/`, "--health-interval", `${PROBE_INTERVAL_MS}ms`, "--health-timeout", "1s", "--health-retries", "100"];
    const variants = { plain: [] as string[], healthcheck: healthArgs };
    const createService = (variant: keyof typeof variants, replicas: number, tag: string, extraArgs: string[] = []): Promise<ServiceCreateTiming> => {
      const name = `ployz-bench-${token}-${variant}-${tag}`;
      const create = () =>
        createServiceTimed(cluster.docker, {
          name,
          replicas,
          image: HTTPD_IMAGE,
          command: HTTPD_COMMAND,
          labels: { [BENCH_LABEL]: token },
          extraArgs: [...variants[variant], ...extraArgs],
        });
      return withUndo(cleanup, `remove service ${name}`, create, () => removeService(cluster.docker, name));
    };
    const deploy = (replicas: number) => timedHttpdDeploy(cluster, cleanup, "bench-replicas", replicas);
    const commandOf = (variant: keyof typeof variants) =>
      `docker service create --replicas ${options.replicas} --detach=false --name X${variants[variant].length ? ` ${variants[variant].map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}` : ""} ${HTTPD_IMAGE} /bin/sh -c '…'`;

    print(`deploy ${options.replicas} replicas: ${options.runs} runs each, interleaved; machine ${cluster.machineId}`);
    print(`  ployz: client.deploy of a fresh namespace, ${options.replicas}× httpd, no reservations, readiness http :${HTTPD_PORT}/ every ${PROBE_INTERVAL_MS} ms, until it resolves (all ready, committed)`);
    if (swarm.ok) {
      print(`  swarm (${swarm.createdHere ? "one-node swarm initialised for this run on 127.0.0.1" : "the swarm already active here"}):`);
      print(`    plain:       ${commandOf("plain")}  — returns once all tasks run, plus the CLI's 5 s stability check`);
      print(`    healthcheck: ${commandOf("healthcheck")}  — a task runs only once healthy`);
      print(`    each is timed to the command's exit, and to the last task's "running" timestamp (swarm's own clock)`);
    } else {
      print(`  swarm baseline SKIPPED: ${swarm.reason}`);
    }
    print(`  breakdown: dockerd alone, ${options.replicas}× docker create+start+inspect via dockerode all at once, each polled with GET / every ${PROBE_INTERVAL_MS} ms until 200`);

    // Untimed: the first deploy pays for lazy code paths, the first service for the gwbridge network.
    const warm = await deploy(1);
    await plainParallel(1);
    if (swarm.ok) await createService("plain", 1, "warmup", ["--update-monitor", "1ms"]);
    print(`  warm-up (1 replica, not counted): ployz ${ms(warm.ms)}`);

    const ployz: number[] = [];
    const dockerAlone: number[] = [];
    const phases: DeployPhases[] = [];
    const timings = { plain: [] as ServiceCreateTiming[], healthcheck: [] as ServiceCreateTiming[] };
    for (let run = 1; run <= options.runs; run++) {
      const cases = ["ployz", "docker", ...(swarm.ok ? (["plain", "healthcheck"] as const) : [])] as const;
      // Rotated each run, so no case always follows the same one.
      const order = cases.map((_, i) => cases[(i + run - 1) % cases.length]!);
      for (const which of order) {
        await interruption.checkpoint();
        if (which === "ployz") {
          const timed = await deploy(options.replicas);
          ployz.push(timed.ms);
          if (timed.phases) phases.push(timed.phases);
        } else if (which === "docker") {
          dockerAlone.push(await plainParallel(options.replicas));
        } else {
          timings[which].push(await createService(which, options.replicas, String(run)));
        }
      }
      const swarmLine = swarm.ok
        ? `; swarm plain: all running ${ms(timings.plain.at(-1)!.allRunningMs)}, command ${ms(timings.plain.at(-1)!.commandMs)}; swarm healthcheck: all healthy ${ms(timings.healthcheck.at(-1)!.allRunningMs)}, command ${ms(timings.healthcheck.at(-1)!.commandMs)}`
        : "";
      print(`  run ${run}: ployz ${ms(ployz.at(-1)!)}; dockerd alone ${ms(dockerAlone.at(-1)!)}${swarmLine}`);
      const last = phases.at(-1);
      if (last) print(`    ployz phases: ${formatPhases(last)}`);
    }

    const p = summarize(ployz);
    const phasesMedianMs = medianPhases(phases);
    const d = summarize(dockerAlone);
    const dockerAloneMs = { ...roundSummary(d), ratioOfMedians: round(p.p50 / d.p50) };
    print(`  ployz deploy of ${options.replicas}        median ${ms(p.p50)}  min ${ms(p.min)}  max ${ms(p.max)}`);
    if (phasesMedianMs) print(`  ployz phases, median: ${formatPhases(phasesMedianMs)}`);
    print(`  dockerd alone (breakdown) median ${ms(d.p50)}  min ${ms(d.min)}  max ${ms(d.max)}  → ployz ${times(dockerAloneMs.ratioOfMedians)} of it`);
    const samples = { ployzMs: ployz.map((x) => round(x)), dockerAloneMs: dockerAlone.map((x) => round(x)), swarmPlainAllRunningMs: [] as number[], swarmHealthyAllRunningMs: [] as number[] };
    const common = { runs: options.runs, replicas: options.replicas, ployzMs: roundSummary(p), phasesMedianMs, dockerAloneMs, warmup: { ployzMs: round(warm.ms) } };
    if (!swarm.ok) return { ...common, swarm: { skipped: swarm.reason }, samples };

    const summarizeVariant = (variant: keyof typeof variants): SwarmTimings => ({
      command: commandOf(variant),
      commandMs: roundSummary(summarize(timings[variant].map((t) => t.commandMs))),
      createdMs: roundSummary(summarize(timings[variant].map((t) => t.createdMs))),
      allRunningMs: roundSummary(summarize(timings[variant].map((t) => t.allRunningMs))),
    });
    const plain = summarizeVariant("plain");
    const healthcheck = summarizeVariant("healthcheck");
    const ratioToAllRunning = round(p.p50 / plain.allRunningMs.p50);
    const ratioToCommand = round(p.p50 / plain.commandMs.p50);
    const ratioToHealthy = round(p.p50 / healthcheck.allRunningMs.p50);
    for (const [label, s] of [["plain", plain], ["healthcheck", healthcheck]] as const) {
      print(`  swarm ${label.padEnd(12)} all ${label === "plain" ? "running" : "healthy"} median ${ms(s.allRunningMs.p50)} (service created at ${ms(s.createdMs.p50)}), command returned median ${ms(s.commandMs.p50)}`);
    }
    const verdict = ratioToAllRunning <= DEPLOY_REPLICAS_TARGET_RATIO ? "met" : "NOT met";
    print(`  ratio of medians ployz / swarm all running ${times(ratioToAllRunning)} (target ≤ ${times(DEPLOY_REPLICAS_TARGET_RATIO)}: ${verdict})`);
    print(`  ratio of medians ployz / swarm all healthy ${times(ratioToHealthy)} (the same readiness on both sides)`);
    print(`  ratio of medians ployz / swarm command     ${times(ratioToCommand)} (the command includes the CLI's 5 s stability wait)`);
    samples.swarmPlainAllRunningMs = timings.plain.map((t) => round(t.allRunningMs));
    samples.swarmHealthyAllRunningMs = timings.healthcheck.map((t) => round(t.allRunningMs));
    return {
      ...common,
      swarm: { createdHere: swarm.createdHere, plain, healthcheck, ratioToAllRunning, ratioToCommand, ratioToHealthy, targetRatio: DEPLOY_REPLICAS_TARGET_RATIO },
      samples,
    };
  });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchDeployReplicas(numberOptions(process.argv.slice(2), DEPLOY_REPLICAS_DEFAULTS));
    printBench({ deployReplicas: result });
  });
}
