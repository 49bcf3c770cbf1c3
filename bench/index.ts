/**
 * Every benchmark in turn (or those `--only` names), one argument list for all (each takes the
 * options it knows; `--runs` is the number of timed runs of each benchmark that has runs):
 *
 *   npx tsx bench/index.ts [--only cli-start,ployzd-start,capacity-rtt,deploy-one,deploy-replicas,lease-contention,
 *                                  routing-convergence,gateway-throughput,reconcile,plan,dns,exec,lab-cluster]
 *     [--runs N] [--idle-seconds 60] [--settle-seconds 5] [--requests 500] [--warmup 50]
 *     [--replicas 20] [--attempts 20] [--hold-seconds 3] [--namespaces 20]
 *     [--backends 10] [--queries 20000] [--window 32] [--rounds 5] [--mib 100]
 *
 * Human-readable lines, then one `BENCH {…}` line with every number.
 */
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../model/errors.ts";
import { benchCapacityRtt, RTT_DEFAULTS } from "./capacity-rtt.ts";
import { benchCliStart, CLI_START_DEFAULTS } from "./cli-start.ts";
import { benchDeployOne, DEPLOY_ONE_DEFAULTS } from "./deploy-one.ts";
import { benchDeployReplicas, DEPLOY_REPLICAS_DEFAULTS } from "./deploy-replicas.ts";
import { benchLeaseContention, LEASE_DEFAULTS } from "./lease-contention.ts";
import { benchGatewayThroughput, THROUGHPUT_DEFAULTS } from "./gateway-throughput.ts";
import { benchPloyzdStart, START_DEFAULTS } from "./ployzd-start.ts";
import { benchRoutingConvergence, CONVERGENCE_DEFAULTS } from "./routing-convergence.ts";
import { benchPlan, PLAN_DEFAULTS } from "./plan.ts";
import { benchDns, DNS_DEFAULTS } from "./dns.ts";
import { benchReconcile, RECONCILE_DEFAULTS } from "./reconcile.ts";
import { benchExec, EXEC_DEFAULTS } from "./exec.ts";
import { benchLabCluster, LAB_CLUSTER_DEFAULTS } from "./lab-cluster.ts";
import { numberOptions, printBench, runMain } from "./support/cli.ts";

runMain(async () => {
  const argv = process.argv.slice(2);
  // Every option parsed first, so a bad one fails before minutes of benchmarking, not after.
  const benchmarks = {
    "cli-start": { key: "cliStart", run: bind(benchCliStart, numberOptions(argv, CLI_START_DEFAULTS)) },
    "ployzd-start": { key: "ployzdStart", run: bind(benchPloyzdStart, numberOptions(argv, START_DEFAULTS)) },
    "capacity-rtt": { key: "capacityRtt", run: bind(benchCapacityRtt, numberOptions(argv, RTT_DEFAULTS)) },
    "deploy-one": { key: "deployOne", run: bind(benchDeployOne, numberOptions(argv, DEPLOY_ONE_DEFAULTS)) },
    "deploy-replicas": { key: "deployReplicas", run: bind(benchDeployReplicas, numberOptions(argv, DEPLOY_REPLICAS_DEFAULTS)) },
    "lease-contention": { key: "leaseContention", run: bind(benchLeaseContention, numberOptions(argv, LEASE_DEFAULTS)) },
    "routing-convergence": { key: "routingConvergence", run: bind(benchRoutingConvergence, numberOptions(argv, CONVERGENCE_DEFAULTS)) },
    "gateway-throughput": { key: "gatewayThroughput", run: bind(benchGatewayThroughput, numberOptions(argv, THROUGHPUT_DEFAULTS)) },
    reconcile: { key: "reconcile", run: bind(benchReconcile, numberOptions(argv, RECONCILE_DEFAULTS)) },
    plan: { key: "plan", run: bind(benchPlan, numberOptions(argv, PLAN_DEFAULTS)) },
    dns: { key: "dns", run: bind(benchDns, numberOptions(argv, DNS_DEFAULTS)) },
    exec: { key: "exec", run: bind(benchExec, numberOptions(argv, EXEC_DEFAULTS)) },
    "lab-cluster": { key: "labCluster", run: bind(benchLabCluster, numberOptions(argv, LAB_CLUSTER_DEFAULTS)) },
  };
  const chosen = onlyOption(argv, Object.keys(benchmarks) as Array<keyof typeof benchmarks>);
  const results: Record<string, unknown> = {};
  for (const [i, name] of chosen.entries()) {
    if (i > 0) console.log("");
    const { key, run } = benchmarks[name];
    results[key] = await run();
  }
  printBench(results);
});

function bind<O, R>(bench: (options: O) => Promise<R>, options: O): () => Promise<R> {
  return () => bench(options);
}

/** `--only a,b`: those benchmarks, in the order given; all of them without it. */
function onlyOption<N extends string>(argv: string[], names: N[]): N[] {
  const { values } = parseArgs({ args: argv, options: { only: { type: "string" } }, strict: false, allowPositionals: true });
  if (values.only === undefined) return names;
  if (typeof values.only !== "string" || values.only.trim() === "") throw new InvalidArgumentError(`--only needs a list of benchmarks: ${names.join(",")}`);
  const chosen = values.only.split(",").map((s) => s.trim());
  const unknown = chosen.filter((name) => !names.includes(name as N));
  if (unknown.length > 0) throw new InvalidArgumentError(`--only: no benchmark ${unknown.join(", ")} (there are ${names.join(", ")})`);
  return [...new Set(chosen)] as N[];
}
