import { readdirSync, readFileSync } from "node:fs";

/**
 * The processes of one `docker exec`, seen from the host. Docker has no way to stop an exec, and a
 * client that detaches leaves its command running, so ployzd ends a session's command itself.
 * runc makes every exec'd process a session leader (setsid), so its processes are those of its
 * session plus its descendants (a child that left the session stays one); and only processes in
 * the container's cgroup are ever touched, so a pid the kernel reused for something else is not.
 */
export function execProcesses(execPid: number, containerId: string): number[] {
  if (!Number.isInteger(execPid) || execPid <= 1) return [];
  const table = new Map<number, { ppid: number; sid: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) table.set(Number(entry), stat);
  }
  const members = new Set<number>();
  for (const [pid, { sid }] of table) if (sid === execPid || pid === execPid) members.add(pid);
  // descendants that left the session
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, { ppid }] of table) {
      if (!members.has(pid) && members.has(ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return [...members].filter((pid) => inContainer(pid, containerId));
}

/** Sends `signal` to every process of the exec (0: only counts them); returns how many got it. */
export function signalExec(execPid: number, containerId: string, signal: NodeJS.Signals | 0): number {
  let count = 0;
  for (const pid of execProcesses(execPid, containerId)) {
    try {
      process.kill(pid, signal);
      count++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // it ended meanwhile: nothing to signal
    }
  }
  return count;
}

function readStat(pid: number): { ppid: number; sid: number } | undefined {
  const text = readProc(pid, "stat");
  if (text === undefined) return undefined;
  // `pid (comm) state ppid pgrp session …`; comm may hold spaces and parentheses
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), sid: Number(fields[3]) };
}

function inContainer(pid: number, containerId: string): boolean {
  return readProc(pid, "cgroup")?.includes(containerId) ?? false;
}

/** A file of /proc/<pid>, or undefined when the process ended between the listing and the read. */
function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return undefined;
    throw error;
  }
}
