import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { CommandFailedError, ProgramMissingError } from "../../model/errors.ts";

/** What a command printed and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs programs (ip, wg, iptables, wireguard-go…) in one network namespace: this process's own
 * (`localCommands`), or another one reached through a prefix such as
 * `nsenter --net=/var/run/netns/NS` (`commandsVia`, for the lab). Effects that change the host
 * take one, so the same code configures a real machine and a lab machine.
 */
export interface Commands {
  /** Where the commands run, for messages. */
  where: string;
  /** Runs to completion; a non-zero exit is a CommandFailedError naming the command and its stderr. */
  run(argv: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Runs to completion and returns how it ended, whatever the exit code (for probes). */
  attempt(argv: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** Starts a long-lived process in its own process group, detached, output appended to `logFile`; returns its pid. */
  spawnDetached(argv: readonly string[], options: { logFile: string; env?: Record<string, string> }): Promise<number>;
}

/** Commands run directly, in the calling process's network namespace. */
export function localCommands(): Commands {
  return commandsVia([], "this machine");
}

/** Commands run through `prefix` (e.g. `["nsenter", "--net=/var/run/netns/plz-ab12-m1"]`). */
export function commandsVia(prefix: readonly string[], where: string): Commands {
  const full = (argv: readonly string[]) => [...prefix, ...argv];
  const attempt = (argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}) => execute(full(argv), options, argv[0]!);
  return {
    where,
    attempt,
    async run(argv, options) {
      const result = await attempt(argv, options);
      if (result.code !== 0) {
        throw new CommandFailedError(`${argv.join(" ")} failed on ${where} (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim() || "no output"}`);
      }
      return result.stdout;
    },
    async spawnDetached(argv, options) {
      const log = openSync(options.logFile, "a", 0o600);
      const [program, ...args] = full(argv);
      const child = spawn(program!, args, { stdio: ["ignore", log, log], detached: true, env: { ...process.env, ...options.env } });
      closeSync(log);
      const pid = await new Promise<number>((resolve, reject) => {
        child.once("spawn", () => resolve(child.pid!));
        child.once("error", (error) => reject(missingOr(error, argv[0]!)));
      });
      child.unref();
      return pid;
    },
  };
}

function execute(argv: readonly string[], options: { input?: string; timeoutMs?: number }, program: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], timeout: options.timeoutMs ?? 30_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", (error) => reject(missingOr(error, program)));
    child.once("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") + (signal ? `(killed by ${signal})` : "") }),
    );
    if (child.stdin) {
      // A program that exits without reading all its input: its exit code and stderr tell what happened.
      child.stdin.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code !== "EPIPE") reject(error);
      });
      child.stdin.end(options.input);
    }
  });
}

/** ENOENT of the program is a ProgramMissingError with the package to install. */
function missingOr(error: Error, program: string): Error {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") return error;
  return new ProgramMissingError(`cannot run ${program}: not installed`, {
    hint: `install it: apt-get install --no-install-recommends ${PACKAGES[program] ?? program}`,
    cause: error,
  });
}

const PACKAGES: Record<string, string> = {
  ip: "iproute2",
  wg: "wireguard-tools",
  "wireguard-go": "wireguard-go",
  iptables: "iptables",
  nsenter: "util-linux",
  dockerd: "docker.io",
  docker: "docker.io",
};
