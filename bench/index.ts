/**
 * Every benchmark in turn, one argument list for all (each takes the options it knows):
 *
 *   npx tsx bench/index.ts [--runs 5] [--idle-seconds 60] [--settle-seconds 5] [--requests 500] [--warmup 50]
 *
 * Human-readable lines, then one `BENCH {…}` line with every number.
 */
import { benchCapacityRtt, RTT_DEFAULTS } from "./capacity-rtt.ts";
import { benchPloyzdStart, START_DEFAULTS } from "./ployzd-start.ts";
import { numberOptions, printBench, runMain } from "./support/cli.ts";

runMain(async () => {
  const argv = process.argv.slice(2);
  // Both parsed first, so a bad option fails before a minute of benchmarking, not after.
  const startOptions = numberOptions(argv, START_DEFAULTS);
  const rttOptions = numberOptions(argv, RTT_DEFAULTS);
  const ployzdStart = await benchPloyzdStart(startOptions);
  console.log("");
  const capacityRtt = await benchCapacityRtt(rttOptions);
  printBench({ ployzdStart, capacityRtt });
});
