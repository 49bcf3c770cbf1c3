import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dnsControl, type DnsControl } from "../actors/dns/dns-control.ts";
import { dnsProcessConfigSchema, sameDnsConfig, type DnsProcessConfig } from "../model/dns-process.ts";
import { DaemonStartError } from "../model/errors.ts";
import { readJsonFile, writeFileAtomic } from "./files.ts";
import { exitOf, ownedPid, stopPid } from "./process.ts";

export interface DnsProcessOptions {
  config: DnsProcessConfig;
  configFile: string;
  pidFile: string;
  /** The script that runs `ployzd` (bin/ployzd.js): the DNS process is `ployzd dns`. */
  ployzdScript: string;
  /** Where its stdout and stderr go (its log proper is `config.logFile`). */
  outFile: string;
}

export interface DnsProcessHandle {
  pid: number;
  control: DnsControl;
  /** It was already running, with this very config, and answered all along. */
  adopted: boolean;
  exited: Promise<{ code: number | null }>;
  stop(): Promise<void>;
}

const READY_WITHIN_MS = 15_000;

/**
 * The DNS process of this data directory: the one still running is adopted when it runs the config
 * wanted now (it kept answering while ployzd was away); one with another config (the bridge moved,
 * another port) is stopped; otherwise one is started, detached, and waited for until its control
 * socket answers — it then already listens on its DNS address.
 */
export async function startOrAdoptDns(options: DnsProcessOptions): Promise<DnsProcessHandle> {
  const control = dnsControl(options.config.controlSocket);
  const running = runningDns(options.pidFile, options.configFile);
  if (running !== undefined) {
    // A DNS process that does not answer its control socket cannot be adopted: it is replaced below.
    const status = await control.status().catch(() => undefined);
    if (status?.pid === running && sameDnsConfig(status.config, options.config)) {
      return { pid: running, control, adopted: true, exited: exitOf(running), stop: () => stopPid(running, 5_000) };
    }
    await stopPid(running, 5_000); // deaf, or serving another config: start afresh
  }
  writeFileAtomic(options.configFile, JSON.stringify(options.config, null, 2), 0o600);
  mkdirSync(options.config.controlSocket.slice(0, options.config.controlSocket.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const out = openSync(options.outFile, "a", 0o600);
  const child = spawn(process.execPath, [options.ployzdScript, "dns", "--config", options.configFile], {
    stdio: ["ignore", out, out],
    // Its own process group, and unreferenced: it outlives ployzd on purpose.
    detached: true,
  });
  closeSync(out);
  child.unref();
  if (child.pid) writeFileAtomic(options.pidFile, `${child.pid}\n`, 0o644);
  const exited = new Promise<{ code: number | null }>((resolve) => child.once("exit", (code) => resolve({ code })));
  const spawnFailed = new Promise<Error>((resolve) => child.once("error", resolve));
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    const next = await Promise.race([
      exited.then((e) => ({ kind: "exit" as const, code: e.code })),
      spawnFailed.then((error) => ({ kind: "error" as const, error })),
      control.status().then(
        (status) => ({ kind: status.pid === child.pid ? ("ready" as const) : ("wait" as const) }),
        () => ({ kind: "wait" as const }),
      ),
    ]);
    if (next.kind === "ready") break;
    if (next.kind === "error") throw new DaemonStartError(`cannot start the DNS process: ${next.error.message}`, { hint: `see ${options.outFile}` });
    if (next.kind === "exit") throw new DaemonStartError(`the DNS process exited (code ${next.code}) before it was ready`, { hint: `see ${options.config.logFile} and ${options.outFile}` });
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new DaemonStartError(`the DNS process did not answer on ${options.config.controlSocket} within ${READY_WITHIN_MS / 1000} s`, { hint: `see ${options.config.logFile}` });
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { pid: child.pid!, control, adopted: false, exited, stop: () => stopPid(child.pid!, 5_000) };
}

/** The DNS process the pid file names, if it is alive and runs our config file. */
const runningDns = (pidFile: string, configFile: string) => ownedPid(pidFile, [" dns ", configFile]);

/** Stops the DNS process of a data directory (`dev down`): ployzd itself leaves it running. */
export async function stopDnsProcess(pidFile: string, configFile: string): Promise<number | undefined> {
  const pid = runningDns(pidFile, configFile);
  if (pid === undefined) return undefined;
  await stopPid(pid, 5_000);
  return pid;
}

/** The config a DNS process of this data directory was last started with, if any. */
export function readDnsProcessConfig(configFile: string): DnsProcessConfig | undefined {
  return readJsonFile(configFile, dnsProcessConfigSchema, "the DNS process config", "it is written again at the next start of ployzd");
}
