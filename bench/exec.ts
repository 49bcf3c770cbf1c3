/**
 * `ployzctl exec` against `docker exec` on the same machine, in the same run: the round trip of
 * `true` (each a fresh CLI process, as a user runs it; interleaved), and the throughput of 100 MiB
 * of output (`head -c` in the container, counted by this process).
 *
 *   npx tsx bench/exec.ts [--runs 10] [--mib 100]
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { aNamespaceSpec } from "../test/harness/cluster.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../test/harness/docker.ts";
import { withCleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { startDevCluster } from "./support/dev-cluster.ts";
import { ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";

export const EXEC_DEFAULTS = { runs: 10, mib: 100 };
export type ExecBenchOptions = typeof EXEC_DEFAULTS;

export interface ExecBenchResult {
  runs: number;
  trueMs: { ployzctl: Summary; docker: Summary; ratioOfMedians: number; ployzctlVersion: Summary };
  output: { bytes: number; ployzctlMiBps: number; dockerMiBps: number };
}

const CLI = fileURLToPath(new URL("../bin/ployzctl.js", import.meta.url));

/** Runs a program, counting its stdout bytes; rejects unless it exits 0. */
function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(program, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (bytes += d.length));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`${program} ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}

export async function benchExec(options: ExecBenchOptions, print: (line: string) => void = console.log): Promise<ExecBenchResult> {
  ensureBusyboxImage();
  return await withCleanup(async (cleanup) => {
    const cluster = await startDevCluster(cleanup, "bench-exec");
    const ns = cluster.newNamespace("exec");
    await cluster.client.deploy({ spec: aNamespaceSpec(ns, { box: { image: BUSYBOX_IMAGE, command: ["sleep", "3600"] } }) });
    const [instance] = (await cluster.client.ps(ns)).instances;
    const ployzctl = (command: string[]) => run(process.execPath, [CLI, "exec", "-n", ns, "box", "--", ...command], cluster.env);
    const docker = (command: string[]) => run("docker", ["exec", instance!.containerId, ...command], process.env);
    print(`exec: ${options.runs} runs of \`true\` each (interleaved, a fresh CLI process each), then ${options.mib} MiB of output`);

    await ployzctl(["true"]); // warm: the CLI bundle, the connection path
    await docker(["true"]);
    const samples = { ployzctl: [] as number[], docker: [] as number[], version: [] as number[] };
    for (let i = 0; i < options.runs; i++) {
      samples.ployzctl.push((await ployzctl(["true"])).ms);
      samples.docker.push((await docker(["true"])).ms);
      // what Node takes to start the CLI at all (no connection): the floor of any ployzctl command
      samples.version.push((await run(process.execPath, [CLI, "version"], cluster.env)).ms);
    }
    const s = { ployzctl: summarize(samples.ployzctl), docker: summarize(samples.docker), version: summarize(samples.version) };
    const ratioOfMedians = round(s.ployzctl.p50 / s.docker.p50);
    print(`  ployzctl exec true   p50 ${ms(s.ployzctl.p50)}  p90 ${ms(s.ployzctl.p90)}  ${times(ratioOfMedians)} docker exec`);
    print(`  docker exec true     p50 ${ms(s.docker.p50)}  p90 ${ms(s.docker.p90)}`);
    print(`  ployzctl version     p50 ${ms(s.version.p50)}  (starting the CLI, no connection)`);

    const bytes = options.mib * 1024 * 1024;
    const head = ["head", "-c", String(bytes), "/dev/zero"];
    const viaPloyz = await ployzctl(head);
    const viaDocker = await docker(head);
    for (const [name, r] of [["ployzctl", viaPloyz], ["docker", viaDocker]] as const) if (r.bytes !== bytes) throw new Error(`${name} exec passed ${r.bytes} bytes, not ${bytes}`);
    const mibps = (r: { ms: number }) => round(options.mib / (r.ms / 1000), 1);
    print(`  ${options.mib} MiB out: ployzctl exec ${mibps(viaPloyz)} MiB/s (${ms(viaPloyz.ms)}), docker exec ${mibps(viaDocker)} MiB/s (${ms(viaDocker.ms)})`);
    return {
      runs: options.runs,
      trueMs: { ployzctl: roundSummary(s.ployzctl), docker: roundSummary(s.docker), ratioOfMedians, ployzctlVersion: roundSummary(s.version) },
      output: { bytes, ployzctlMiBps: mibps(viaPloyz), dockerMiBps: mibps(viaDocker) },
    };
  });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    printBench({ exec: await benchExec(numberOptions(process.argv.slice(2), EXEC_DEFAULTS)) });
  });
}
