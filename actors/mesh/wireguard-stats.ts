import { fromCallback } from "xstate";
import type { StatsWatchEvent, StatsWatchInput } from "../../machines/mesh-peer.ts";
import { DEFAULT_STATS_CADENCE, nextStatsRead, type StatsCadence } from "../../model/stats-cadence.ts";
import { parseWireGuardDump, type WireGuardInterfaceStats } from "../../model/wireguard-dump.ts";
import type { Commands } from "../host/commands.ts";

/** Handshakes and counters of every peer of the interface, now (`wg show IF dump`). */
export async function readWireGuardStats(commands: Commands, name: string): Promise<WireGuardInterfaceStats> {
  return parseWireGuardDump(await commands.run(["wg", "show", name, "dump"]));
}

/**
 * Reads the interface's stats at once and then at the pace `nextStatsRead` gives (every
 * `intervalMs`; every 250 ms while a new peer has no handshake yet), one read at a time, and sends
 * them to meshPeer as PEER_STATS; a read that fails (the interface is gone) is STATS_FAILED.
 * READ_NOW (meshPeer applied a change) reads at once, or right after a read under way.
 */
export function createWatchPeerStats(commands: Commands) {
  return fromCallback<StatsWatchEvent, StatsWatchInput>(({ sendBack, receive, input }) => {
    let stopped = false;
    let reading = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    let cadence: StatsCadence | undefined;
    const read = async () => {
      clearTimeout(timer);
      reading = true;
      let delayMs: number;
      try {
        const stats = await readWireGuardStats(commands, input.interface.name);
        if (!stopped) sendBack({ type: "PEER_STATS", stats });
        ({ cadence, delayMs } = nextStatsRead(cadence, stats, { intervalMs: input.intervalMs, ...DEFAULT_STATS_CADENCE }));
      } catch (error) {
        if (!stopped) sendBack({ type: "STATS_FAILED", reason: error instanceof Error ? error.message : String(error) });
        return;
      } finally {
        reading = false;
      }
      if (stopped) return;
      if (again) {
        again = false;
        delayMs = 0;
      }
      timer = setTimeout(() => void read(), delayMs);
    };
    receive((event) => {
      if (event.type !== "READ_NOW" || stopped) return;
      if (reading) again = true;
      else void read();
    });
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  });
}
