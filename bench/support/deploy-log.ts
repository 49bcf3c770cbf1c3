import { readFileSync } from "node:fs";
import { median, round } from "./stats.ts";

/**
 * Where one deploy's time went, from the daemon's log (millisecond timestamps) and the
 * benchmark's own clock at the call and at the reply. Consecutive, so they add up to the total.
 */
export interface DeployPhases {
  /** client.deploy called → "deploy phase lease started": NATS, API, validation, actor start. */
  requestMs: number;
  /** Taking the namespace's lease (KV create). */
  leaseMs: number;
  /** Observe (store + every participant), plan, participant locks, orphan removal. */
  observePlanLockMs: number;
  /** "start started" → the last "container started": image check, docker create+start+inspect. */
  startMs: number;
  /** Last container started → "commit started": the readiness probes (they begin once all started). */
  readinessMs: number;
  /** Commit stream append, instance and namespace records. */
  commitMs: number;
  /** Drain of replaced instances, locks and lease released. */
  releaseMs: number;
  /** "done" → the reply is in the benchmark: placement record, reply over NATS. */
  replyMs: number;
}

interface LogEntry {
  msg?: string;
  time?: string;
  deploy?: string;
  phase?: string;
  state?: string;
}

/**
 * The phases of deploy `deployId`, or undefined when the log lacks one of its milestones.
 * `calledAt` and `resolvedAt` are `Date.now()` around the client call.
 */
export function readDeployPhases(logFile: string, deployId: string, calledAt: number, resolvedAt: number): DeployPhases | undefined {
  const at = new Map<string, number>();
  let lastContainer: number | undefined;
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes(deployId)) continue;
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      continue;
    }
    if (entry.deploy !== deployId || !entry.time) continue;
    const time = Date.parse(entry.time);
    if (entry.msg === "container started") lastContainer = Math.max(lastContainer ?? time, time);
    if (entry.msg === "deploy phase") {
      const key = `${entry.phase}:${entry.state}`;
      if (!at.has(key)) at.set(key, time);
    }
  }
  const lease = at.get("lease:started");
  const observe = at.get("observe:started");
  const start = at.get("start:started");
  const commit = at.get("commit:started");
  const committed = at.get("commit:ok");
  const done = at.get("done:ok");
  if ([lease, observe, start, lastContainer, commit, committed, done].some((t) => t === undefined)) return undefined;
  return {
    requestMs: lease! - calledAt,
    leaseMs: observe! - lease!,
    observePlanLockMs: start! - observe!,
    startMs: lastContainer! - start!,
    readinessMs: commit! - lastContainer!,
    commitMs: committed! - commit!,
    releaseMs: done! - committed!,
    replyMs: resolvedAt - done!,
  };
}

/** The median of each phase over several deploys (null when none could be read). */
export function medianPhases(all: readonly DeployPhases[]): DeployPhases | null {
  if (all.length === 0) return null;
  const keys = Object.keys(all[0]!) as Array<keyof DeployPhases>;
  return Object.fromEntries(keys.map((key) => [key, round(median(all.map((p) => p[key])), 1)])) as unknown as DeployPhases;
}

/** "request 8 · lease 2 · …": one line for a phase breakdown. */
export function formatPhases(phases: DeployPhases): string {
  const label: Record<keyof DeployPhases, string> = {
    requestMs: "request",
    leaseMs: "lease",
    observePlanLockMs: "observe+plan+lock",
    startMs: "start",
    readinessMs: "readiness",
    commitMs: "commit",
    releaseMs: "drain+release",
    replyMs: "reply",
  };
  return (Object.keys(label) as Array<keyof DeployPhases>).map((key) => `${label[key]} ${Math.round(phases[key])}`).join(" · ") + " (ms)";
}

/** A deploy refused at the lease, as the daemon logged it (millisecond timestamps). */
export interface LoggedRefusal {
  deployId: string;
  /** "deploy phase lease started". */
  leaseAt: number;
  /** "deploy phase lease failed". */
  failedAt: number;
}

/** Every deploy of `namespace` in the log that failed in its lease phase, oldest first. */
export function readLeaseRefusals(logFile: string, namespace: string): LoggedRefusal[] {
  const started = new Map<string, number>();
  const refusals: LoggedRefusal[] = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"deploy phase"') || !line.includes(namespace)) continue;
    let entry: LogEntry & { namespace?: string };
    try {
      entry = JSON.parse(line) as LogEntry & { namespace?: string };
    } catch {
      continue;
    }
    if (entry.namespace !== namespace || !entry.deploy || !entry.time || entry.phase !== "lease") continue;
    if (entry.state === "started") started.set(entry.deploy, Date.parse(entry.time));
    const leaseAt = started.get(entry.deploy);
    if (entry.state === "failed" && leaseAt !== undefined) refusals.push({ deployId: entry.deploy, leaseAt, failedAt: Date.parse(entry.time) });
  }
  return refusals;
}
