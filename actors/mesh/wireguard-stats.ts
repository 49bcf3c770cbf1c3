import { fromCallback } from "xstate";
import type { MeshInterface, MeshPeerEvent } from "../../machines/mesh-peer.ts";
import { parseWireGuardDump, type WireGuardInterfaceStats } from "../../model/wireguard-dump.ts";
import type { Commands } from "../host/commands.ts";

/** Handshakes and counters of every peer of the interface, now (`wg show IF dump`). */
export async function readWireGuardStats(commands: Commands, name: string): Promise<WireGuardInterfaceStats> {
  return parseWireGuardDump(await commands.run(["wg", "show", name, "dump"]));
}

/**
 * Reads the interface's stats at once and then every `intervalMs`, one read at a time, and sends
 * them to meshPeer as PEER_STATS; a read that fails (the interface is gone) is STATS_FAILED.
 */
export function createWatchPeerStats(commands: Commands) {
  return fromCallback<MeshPeerEvent, { interface: MeshInterface; intervalMs: number }>(({ sendBack, input }) => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const read = async () => {
      try {
        const stats = await readWireGuardStats(commands, input.interface.name);
        if (!stopped) sendBack({ type: "PEER_STATS", stats });
      } catch (error) {
        if (!stopped) sendBack({ type: "STATS_FAILED", reason: error instanceof Error ? error.message : String(error) });
        return;
      }
      if (!stopped) timer = setTimeout(() => void read(), input.intervalMs);
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  });
}
