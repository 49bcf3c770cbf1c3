import { fileURLToPath } from "node:url";
import { runScript } from "../../runtime/process.ts";

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
  return runScript(prefix, script, args, env, timeoutMs);
}
