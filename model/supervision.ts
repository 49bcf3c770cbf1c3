/**
 * How a node supervises its long-lived children: exponential backoff between restarts, and a
 * crash-loop limit after which the child is marked `failed` instead of restarting forever.
 */
export interface SupervisionPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** More crashes than this within `windowMs` marks the child failed. */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_SUPERVISION_POLICY: SupervisionPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 15_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

/** Crash times still inside the window once a crash at `now` is added. */
export function recentCrashes(crashTimes: readonly number[], now: number, policy: SupervisionPolicy): number[] {
  return [...crashTimes, now].filter((t) => now - t < policy.windowMs);
}

/** True when a crash at `now` makes the child a crash loop. */
export function isCrashLoop(crashTimes: readonly number[], now: number, policy: SupervisionPolicy): boolean {
  return recentCrashes(crashTimes, now, policy).length > policy.maxCrashes;
}

/** Delay before the next restart, doubling with each crash still inside the window. */
export function backoffDelay(recentCrashCount: number, policy: SupervisionPolicy): number {
  const exponent = Math.max(0, recentCrashCount - 1);
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** exponent);
}
