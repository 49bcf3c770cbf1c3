/** Summary of a set of timings, in the unit they were taken in (milliseconds here). */
export interface Summary {
  n: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Nearest-rank percentile (`p` in 0..100) of an ascending-sorted, non-empty list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error("percentile of an empty sample");
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** The median: the middle value, or the mean of the two middle ones. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error("median of an empty sample");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** min, max, mean, median (p50) and nearest-rank p90/p99 of `samples`. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
    p50: median(sorted),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/** Rounds for printing and for the BENCH line: 3 significant decimals are plenty. */
export function round(value: number, decimals = 3): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Rounds every number of a summary. */
export function roundSummary(s: Summary, decimals = 3): Summary {
  return {
    n: s.n,
    min: round(s.min, decimals),
    max: round(s.max, decimals),
    mean: round(s.mean, decimals),
    p50: round(s.p50, decimals),
    p90: round(s.p90, decimals),
    p99: round(s.p99, decimals),
  };
}

/** "12.3 ms" with a precision that suits the magnitude. */
export function ms(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(3)} ms`;
}

/** "139.2 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "×2.35". */
export function times(ratio: number): string {
  return `×${ratio.toFixed(2)}`;
}
