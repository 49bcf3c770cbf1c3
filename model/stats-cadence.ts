import type { WireGuardInterfaceStats } from "./wireguard-dump.ts";

/** What the WireGuard stats watch remembers between reads to pace them. */
export interface StatsCadence {
  /** The peers' public keys at the last read, sorted and joined. */
  peers: string;
  /** Quick reads left for this set of peers. */
  quickLeft: number;
}

export interface StatsCadenceOptions {
  /** The regular pace (handshake ages, counters). */
  intervalMs: number;
  /** The pace while a new peer has no handshake yet: a joining machine shows up as soon as it handshakes. */
  quickMs: number;
  /** At most this many quick reads per set of peers, so a peer that never answers costs no more than that. */
  quickReads: number;
}

export const DEFAULT_STATS_CADENCE = { quickMs: 250, quickReads: 40 } as const;

/**
 * How long to wait before the next read of the interface's stats, given this read: quickly while
 * some peer has no handshake yet and quick reads for this set of peers are left (a new set of
 * peers gets them afresh), else at the regular interval.
 */
export function nextStatsRead(previous: StatsCadence | undefined, stats: WireGuardInterfaceStats, options: StatsCadenceOptions): { cadence: StatsCadence; delayMs: number } {
  const peers = stats.peers.map((p) => p.publicKey).sort().join(",");
  const quickLeft = previous === undefined || previous.peers !== peers ? options.quickReads : previous.quickLeft;
  const waiting = stats.peers.some((p) => p.latestHandshakeAt === undefined);
  if (waiting && quickLeft > 0) return { cadence: { peers, quickLeft: quickLeft - 1 }, delayMs: options.quickMs };
  return { cadence: { peers, quickLeft }, delayMs: options.intervalMs };
}
