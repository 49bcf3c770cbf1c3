import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { fromCallback } from "xstate";
import type { JoinListenerEvent } from "../../machines/join-listener.ts";
import { followInvites } from "../store/invites.ts";

/** Follows KV invites for the join listener: every record after each change; doubt is WATCH_FAILED. */
export function createWatchInvites(nc: NatsConnection, invites: KV) {
  return fromCallback<JoinListenerEvent>(({ sendBack }) =>
    followInvites(nc, invites, (event) => {
      if (event.type === "STATE") sendBack({ type: "INVITES", invites: [...event.state.values()] });
      else if (event.type === "RECONNECTED") sendBack({ type: "WATCH_FAILED", reason: "reconnected to NATS" });
      else if (event.type === "FOLLOW_FAILED") sendBack({ type: "WATCH_FAILED", reason: event.error });
    }),
  );
}
