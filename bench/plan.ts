/**
 * How long planning blocks ployzd's event loop at the instance cap: 1 000 instances (10 services ×
 * 100 replicas) over 200 machines in 3 zones, against planning the demo (2 replicas, 1 machine) in
 * the same run. Planning is pure and synchronous: this is the time nothing else runs.
 *
 *   npx tsx bench/plan.ts [--runs 7]
 */
import { MAX_INSTANCES_PER_NAMESPACE, planDeploy } from "../model/plan-deploy.ts";
import { aPlanInput, aService, aSpec, aView } from "../test/fixtures/deploy.ts";
import { aMachine } from "../test/fixtures/machines.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { ms, round, roundSummary, summarize, type Summary } from "./support/stats.ts";

export const PLAN_DEFAULTS = { runs: 7 };

export interface PlanResult {
  instances: number;
  machines: number;
  capMs: Summary;
  demoMs: Summary;
  ratioOfMedians: number;
}

function timed(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

export async function benchPlan(options: typeof PLAN_DEFAULTS, print: (line: string) => void = console.log): Promise<PlanResult> {
  const machines = Array.from({ length: 200 }, (_, i) => aView(aMachine({ id: `m${String(i).padStart(3, "0")}`, zone: `z${i % 3}` })));
  const cap = aSpec(Object.fromEntries(Array.from({ length: MAX_INSTANCES_PER_NAMESPACE / 100 }, (_, i) => [`s${i}`, aService({ replicas: 100 })])));
  const demo = aSpec({ web: aService({ replicas: 2 }) });
  const capInput = aPlanInput(cap, machines);
  const demoInput = aPlanInput(demo, machines.slice(0, 1));
  planDeploy(capInput); // warm-up, not counted
  const capMs: number[] = [];
  const demoMs: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    capMs.push(timed(() => planDeploy(capInput)));
    demoMs.push(timed(() => planDeploy(demoInput)));
  }
  const result = {
    instances: MAX_INSTANCES_PER_NAMESPACE,
    machines: machines.length,
    capMs: roundSummary(summarize(capMs)),
    demoMs: roundSummary(summarize(demoMs)),
    ratioOfMedians: round(summarize(capMs).p50 / summarize(demoMs).p50, 0),
  };
  print(`planning at the cap (${result.instances} instances over ${result.machines} machines): median ${ms(result.capMs.p50)} (max ${ms(result.capMs.max)}); the demo: ${ms(result.demoMs.p50)} (×${result.ratioOfMedians})`);
  return result;
}

if (isMain(import.meta.url)) {
  runMain(async () => printBench({ plan: await benchPlan(numberOptions(process.argv.slice(2), PLAN_DEFAULTS)) }));
}
