import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DeployOutcome } from "../../model/deploy.ts";
import type { NamespaceSpec } from "../../model/manifest.ts";
import type { Context } from "../../runtime/context.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { eventually } from "./daemon.ts";

const SCRIPT = fileURLToPath(new URL("./coordinator-process.ts", import.meta.url));

/** A deploy coordinator running in a child process (see coordinator-process.ts). */
export interface CoordinatorProcess {
  pid: number;
  /** Every JSON line it printed so far. */
  lines: Array<{ type: string; [key: string]: unknown }>;
  /** Resolves once the process stopped itself (SIGSTOP at a fault point). */
  stopped(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
  outcome: Promise<DeployOutcome>;
  dispose(): void;
}

/** Starts a coordinator for `spec` against the cluster of `context`, as machine `holder`, with `faults` armed. */
export function startCoordinatorProcess(context: Context, spec: NamespaceSpec, options: { holder: string; faults?: string; drainMs?: number }): CoordinatorProcess {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    env: {
      ...process.env,
      // A coordinator is a machine's: it connects with the machine's identity.
      PLOYZ_COORDINATOR: JSON.stringify({ servers: context.servers, seedFile: dataPaths(context.dataDir!).machineSeed, machineId: context.machineId, holder: options.holder, spec, drainMs: options.drainMs ?? 200 }),
      ...(options.faults ? { PLOYZ_FAULTS: options.faults } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: CoordinatorProcess["lines"] = [];
  let buffer = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const outcome = new Promise<DeployOutcome>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as CoordinatorProcess["lines"][number];
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line.type === "outcome") resolve(line.outcome as DeployOutcome);
      }
    });
    child.on("exit", (code) => reject(new Error(`the coordinator process exited (${code}) without an outcome: ${stderr}`)));
  });
  outcome.catch(() => undefined);
  return {
    pid: child.pid!,
    lines,
    outcome,
    async stopped() {
      try {
        await eventually(async () => (processState(child.pid!) === "T" ? true : undefined), "the coordinator process to stop itself at its fault point", 60_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}; it printed ${JSON.stringify(lines)} and on stderr: ${stderr}`);
      }
    },
    resume() {
      process.kill(child.pid!, "SIGCONT");
    },
    dispose() {
      if (child.exitCode === null) {
        process.kill(child.pid!, "SIGCONT");
        child.kill("SIGKILL");
      }
    },
  };
}

/** The state letter of a process (R, S, T …) from /proc. */
/** The one-letter state of a process in /proc (R, S, T for stopped, Z…), undefined when it is gone. */
export function processState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0];
  } catch {
    return undefined;
  }
}
