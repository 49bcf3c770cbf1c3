import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { fromCallback } from "xstate";
import type { MeshPeerEvent } from "../../machines/mesh-peer.ts";
import { compareText } from "../../model/compare.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { followKv } from "../nats/follow-kv.ts";
import { parseMachineRecord } from "../store/machines.ts";

/**
 * Follows the `machines` KV (`followKv`) and sends the whole membership (never a diff) to the
 * mesh peer each time it changes. A record that does not parse is left out (`machine ls` names
 * it); doubt (a reconnect, the watch ending) is WATCH_FAILED.
 */
export function createWatchMachines(nc: NatsConnection, machines: KV) {
  return fromCallback<MeshPeerEvent>(({ sendBack }) =>
    followKv<Map<string, MachineRecord>>(
      {
        nc,
        kv: machines,
        initial: () => new Map(),
        apply: (state, key, json) => {
          const next = new Map(state);
          next.delete(key);
          if (json === null) return { state: next };
          const parsed = parseMachineRecord(key, JSON.stringify(json));
          if ("record" in parsed) return { state: next.set(key, parsed.record) };
          return { state: next, invalid: parsed.error };
        },
      },
      (event) => {
        if (event.type === "STATE") sendBack({ type: "MEMBERS", machines: [...event.state.values()].sort((a, b) => compareText(a.id, b.id)) });
        else if (event.type === "RECONNECTED") sendBack({ type: "WATCH_FAILED", reason: "reconnected to NATS" });
        else if (event.type === "FOLLOW_FAILED") sendBack({ type: "WATCH_FAILED", reason: event.error });
      },
    ),
  );
}
