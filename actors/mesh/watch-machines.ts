import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { fromCallback } from "xstate";
import type { MeshPeerEvent } from "../../machines/mesh-peer.ts";
import { compareText } from "../../model/compare.ts";
import { followMachines } from "../store/machines.ts";

/**
 * Follows the `machines` KV (`followKv`) and sends the whole membership (never a diff) to the
 * mesh peer each time it changes. A record that does not parse is left out (`machine ls` names
 * it); doubt (a reconnect, the watch ending) is WATCH_FAILED.
 */
export function createWatchMachines(nc: NatsConnection, machines: KV) {
  return fromCallback<MeshPeerEvent>(({ sendBack }) =>
    followMachines(nc, machines, (event) => {
      if (event.type === "STATE") sendBack({ type: "MEMBERS", machines: [...event.state.values()].sort((a, b) => compareText(a.id, b.id)) });
      else if (event.type === "RECONNECTED") sendBack({ type: "WATCH_FAILED", reason: "reconnected to NATS" });
      else if (event.type === "FOLLOW_FAILED") sendBack({ type: "WATCH_FAILED", reason: event.error });
    }),
  );
}
