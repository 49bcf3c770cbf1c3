import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../bin/ployzctl.js", import.meta.url));
const DAEMON = fileURLToPath(new URL("../../bin/ployzd.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ployzctl ARGS` as a user would, with the given environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return runNode(CLI, args, env, timeoutMs);
}

/** Runs `ployzd ARGS` in the foreground until it exits (for start-up failures). */
export function runDaemon(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return runNode(DAEMON, args, env, timeoutMs);
}

/**
 * Runs `node SCRIPT ARGS` until it exits, collecting its output; `prefix` runs node under another
 * program (e.g. `nsenter --net=… node` in a lab machine).
 */
export function runNode(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, prefix: readonly string[] = [process.execPath]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(prefix[0]!, [...prefix.slice(1), script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
