import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  const ticks = Number.parseInt(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim(), 10);
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK gave no usable number`);
  return ticks;
}

/** One reading of a process: resident memory, CPU time used so far, and its parent. */
export interface ProcessReading {
  rssBytes: number;
  cpuTicks: number;
  ppid: number;
}

/** Reads VmRSS from /proc/<pid>/status and utime+stime, ppid from /proc/<pid>/stat. */
export function readProcess(pid: number): ProcessReading {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!rss) throw new Error(`/proc/${pid}/status has no VmRSS (a zombie?)`);
  // The command name in parentheses may contain spaces: fields are counted after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { rssBytes: Number(rss[1]) * 1024, cpuTicks: utime + stime, ppid };
}

/** Resource use of one process over an idle window. */
export interface IdleUsage {
  pid: number;
  /** CPU time over wall time, in percent of one core. */
  cpuPercent: number;
  cpuSeconds: number;
  rssStartBytes: number;
  rssEndBytes: number;
  rssMaxBytes: number;
}

/**
 * Watches `pids` for `seconds` doing nothing else, sampling RSS every `sampleMs`; CPU% is the
 * utime+stime difference between the first and last reading over the wall time between them.
 */
export async function measureIdle<K extends string>(pids: Record<K, number>, seconds: number, sampleMs = 1_000): Promise<Record<K, IdleUsage>> {
  const ticksPerSecond = clockTicksPerSecond();
  const names = Object.keys(pids) as K[];
  const first = new Map(names.map((name) => [name, readProcess(pids[name])]));
  const maxRss = new Map(names.map((name) => [name, first.get(name)!.rssBytes]));
  const started = performance.now();
  const deadline = started + seconds * 1_000;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(sampleMs, Math.max(0, deadline - performance.now()))));
    for (const name of names) maxRss.set(name, Math.max(maxRss.get(name)!, readProcess(pids[name]).rssBytes));
  }
  const last = new Map(names.map((name) => [name, readProcess(pids[name])]));
  const wallSeconds = (performance.now() - started) / 1_000;
  const usage = {} as Record<K, IdleUsage>;
  for (const name of names) {
    const cpuSeconds = (last.get(name)!.cpuTicks - first.get(name)!.cpuTicks) / ticksPerSecond;
    usage[name] = {
      pid: pids[name],
      cpuPercent: (cpuSeconds / wallSeconds) * 100,
      cpuSeconds,
      rssStartBytes: first.get(name)!.rssBytes,
      rssEndBytes: last.get(name)!.rssBytes,
      rssMaxBytes: Math.max(maxRss.get(name)!, last.get(name)!.rssBytes),
    };
  }
  return usage;
}
