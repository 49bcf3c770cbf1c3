/**
 * How long `ployzctl` takes, run as a user runs it (`node bin/ployzctl.js …`, a new process each
 * time), against `node -e 0` measured in the same run, interleaved.
 *
 *   npx tsx bench/cli-start.ts [--runs 20]
 *
 * Commands: `version` (no cluster), `status` and `deploy -f examples/demo.yaml --preview`
 * against a dev ployzd of the benchmark's own. Every run must come from the bundle with an
 * empty stderr: a run that fell back to the sources fails the benchmark instead of being timed.
 * The sources through tsx (`PLOYZ_NO_BUNDLE=1`) are timed too, for reference.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withCleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { startDevCluster } from "./support/dev-cluster.ts";
import { ms, round, summarize, times } from "./support/stats.ts";

const CLI = fileURLToPath(new URL("../bin/ployzctl.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../examples/demo.yaml", import.meta.url));

export const CLI_START_DEFAULTS = { runs: 20 };
export type CliStartOptions = typeof CLI_START_DEFAULTS;

/** The issue's targets: a command's median over `node -e 0`'s. */
const TARGETS = { version: 2, status: 3, preview: 4 } as const;

interface CaseResult {
  medianMs: number;
  p90Ms: number;
  minMs: number;
  ratioToNode: number;
  target?: number;
  met?: boolean;
}

export interface CliStartResult {
  runs: number;
  node: { medianMs: number; p90Ms: number; minMs: number };
  version: CaseResult;
  status: CaseResult;
  preview: CaseResult;
  versionFromSources: CaseResult;
}

interface Run {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawn to exit of `node ARGS`, with its output. */
function timeNode(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

export async function benchCliStart(options: CliStartOptions, print: (line: string) => void = console.log): Promise<CliStartResult> {
  return await withCleanup(async (cleanup) => {
    const cluster = await startDevCluster(cleanup, "bench-cli");
    const env = cluster.env;
    const sources = { ...env, PLOYZ_NO_BUNDLE: "1" };
    const cases = {
      node: { args: ["-e", "0"], env },
      version: { args: [CLI, "version"], env },
      status: { args: [CLI, "status"], env },
      preview: { args: [CLI, "deploy", "-f", DEMO, "--preview"], env },
      versionFromSources: { args: [CLI, "version"], env: sources },
    } as const;
    type Name = keyof typeof cases;
    const check = (name: Name, run: Run) => {
      if (run.code !== 0) throw new Error(`${name} exited with ${run.code}: ${run.stderr.trim()}`);
      // Progress lines of a preview go to stderr; anything about the bundle would be a fallback.
      if (/bundle|tsx/.test(run.stderr)) throw new Error(`${name} did not run from the bundle: ${run.stderr.trim()}`);
    };

    const from = JSON.parse((await timeNode([CLI, "version", "--json"], env)).stdout) as { runningFrom: string };
    if (from.runningFrom !== "bundle") throw new Error(`ployzctl runs from the ${from.runningFrom}, not the bundle (see its stderr)`);
    print(`ployzctl start, run as a user runs it: ${options.runs} runs of each, interleaved; baseline: node -e 0`);
    // One untimed round: page cache, the daemon's lazy paths (the first preview loads the planner).
    for (const name of Object.keys(cases) as Name[]) check(name, await timeNode([...cases[name].args], cases[name].env));

    const samples: Record<Name, number[]> = { node: [], version: [], status: [], preview: [], versionFromSources: [] };
    const names = Object.keys(cases) as Name[];
    for (let run = 0; run < options.runs; run++) {
      // Rotate the order so that no case always follows the same one.
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + run) % names.length]!;
        if (name === "versionFromSources" && run % 4 !== 0) continue; // slow; a few runs are enough
        const result = await timeNode([...cases[name].args], cases[name].env);
        check(name, result);
        samples[name].push(result.ms);
      }
    }

    const node = summarize(samples.node);
    const result = (name: Exclude<Name, "node">): CaseResult => {
      const s = summarize(samples[name]);
      const ratio = round(s.p50 / node.p50);
      const target = name in TARGETS ? TARGETS[name as keyof typeof TARGETS] : undefined;
      return { medianMs: round(s.p50), p90Ms: round(s.p90), minMs: round(s.min), ratioToNode: ratio, ...(target ? { target, met: ratio <= target } : {}) };
    };
    const out: CliStartResult = {
      runs: options.runs,
      node: { medianMs: round(node.p50), p90Ms: round(node.p90), minMs: round(node.min) },
      version: result("version"),
      status: result("status"),
      preview: result("preview"),
      versionFromSources: result("versionFromSources"),
    };
    const line = (label: string, r: CaseResult) =>
      print(
        `  ${label.padEnd(34)} median ${ms(r.medianMs).padStart(8)}  (p90 ${ms(r.p90Ms)}, min ${ms(r.minMs)})  ${times(r.ratioToNode)} node${r.target ? `  target ≤ ×${r.target}: ${r.met ? "met" : "MISSED"}` : ""}`,
      );
    print(`  ${"node -e 0".padEnd(34)} median ${ms(out.node.medianMs).padStart(8)}  (p90 ${ms(out.node.p90Ms)}, min ${ms(out.node.minMs)})  baseline`);
    line("ployzctl version", out.version);
    line("ployzctl status", out.status);
    line("ployzctl deploy --preview (demo)", out.preview);
    line(`ployzctl version, sources (${samples.versionFromSources.length} runs)`, out.versionFromSources);
    return out;
  });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchCliStart(numberOptions(process.argv.slice(2), CLI_START_DEFAULTS));
    printBench({ cliStart: result });
  });
}
