import { readdirSync, readFileSync } from "node:fs";
import { isAlive, stopPid } from "../process.ts";
import type { LabProcess } from "./lab-state.ts";

/** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or undefined if it is gone. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** The record of a live process, for the lab's state. */
export function labProcess(pid: number, what: string, machine?: number): LabProcess {
  return { pid, startTime: processStartTime(pid) ?? "gone", what, ...(machine === undefined ? {} : { machine }) };
}

/** True while the recorded process runs (same pid, same start time: never a process that reused the pid). */
export function isRunning(process: LabProcess): boolean {
  return isAlive(process.pid) && processStartTime(process.pid) === process.startTime;
}

/** SIGTERM, then SIGKILL after `graceMs`; nothing if it is not running. */
export async function stopLabProcess(process: LabProcess, graceMs = 10_000): Promise<void> {
  if (isRunning(process)) await stopPid(process.pid, graceMs);
}

/** Pids whose command line contains `text` (a lab's directory names every process it started there). */
export function pidsMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch (error) {
      if (["ENOENT", "ESRCH"].includes((error as NodeJS.ErrnoException).code ?? "")) continue;
      throw error;
    }
    if (cmdline.split("\0").some((arg) => arg.includes(text)) && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** Pids whose cgroup path names one of these container ids (a container's processes, whose shim may be gone). */
export function pidsInContainers(containerIds: readonly string[]): number[] {
  if (containerIds.length === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let cgroup: string;
    try {
      cgroup = readFileSync(`/proc/${entry}/cgroup`, "utf8");
    } catch (error) {
      if (["ENOENT", "ESRCH"].includes((error as NodeJS.ErrnoException).code ?? "")) continue;
      throw error;
    }
    if (containerIds.some((id) => cgroup.includes(id)) && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}
