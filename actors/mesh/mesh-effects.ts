import { fromPromise } from "xstate";
import type { MeshInterface, PeerChange } from "../../machines/mesh-peer.ts";
import type { Logger } from "pino";
import { describePeerDiff } from "../../model/wireguard-peers.ts";
import type { Commands } from "../host/commands.ts";
import { ensureWireGuardInterface, type WireGuardConfig } from "./wireguard-interface.ts";
import { applyWireGuardPeers } from "./wireguard-peers.ts";
import { createWatchPeerStats } from "./wireguard-stats.ts";
import { allowWorkloadForwarding } from "./workload-forwarding.ts";

export interface MeshEffectsDeps {
  /** Where the interface lives: `localCommands()` in ployzd, a lab machine's namespace in tests. */
  commands: Commands;
  wireguard: WireGuardConfig;
  /**
   * The interface of the machine's workload bridge (`docker0`, or `ployzbr0` when ployzd made it;
   * model/workload-bridge.ts): when given, containers here and on peers reach each
   * other by their own addresses (forwarding between it and the interface, no masquerading).
   */
  workloadBridge?: string;
  log?: Pick<Logger, "info" | "warn">;
}

/**
 * The effects meshPeerMachine needs, for `.provide({ actors })` (with `watchMachines`):
 * the interface created or adopted, peer changes applied, handshakes read.
 */
export function createMeshEffects(deps: MeshEffectsDeps) {
  return {
    ensureInterface: fromPromise<MeshInterface>(async () => {
      const iface = await ensureWireGuardInterface(deps.commands, deps.wireguard);
      if (deps.workloadBridge) await allowWorkloadForwarding(deps.commands, iface.name, deps.workloadBridge);
      deps.log?.info({ interface: iface.name, implementation: iface.implementation, overlayIp: iface.overlayIp, listenPort: iface.listenPort }, "WireGuard interface ready");
      return iface;
    }),
    applyPeers: fromPromise<void, PeerChange>(async ({ input }) => {
      await applyWireGuardPeers(deps.commands, input);
      for (const line of describePeerDiff(input.diff)) deps.log?.info({ interface: input.interface.name }, line);
    }),
    watchPeerStats: createWatchPeerStats(deps.commands),
  };
}
