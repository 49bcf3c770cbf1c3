import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { fromCallback } from "xstate";
import type { RoutingConsumerEvent } from "../../machines/routing-consumer.ts";
import { applyRoutingMessage, emptyProjection, type RoutingProjection } from "../../model/routing.ts";
import { followStream } from "../nats/follow-stream.ts";
import { fromStore } from "../store/store-errors.ts";

/**
 * The follower of a routing consumer (machines/routing-consumer.ts): the whole projection of
 * stream ROUTING (the last record of every service), built and kept current by `followStream`,
 * told to the consumer as PROJECTION; records that do not parse as INVALID; doubt as it comes.
 */
export function createRoutingFollower(deps: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager; heartbeatMs?: number }) {
  return fromCallback<RoutingConsumerEvent>(({ sendBack }) =>
    followStream<RoutingProjection>(
      {
        nc: deps.nc,
        js: deps.js,
        jsm: deps.jsm,
        stream: "ROUTING",
        filter: "routing.>",
        initial: emptyProjection,
        apply: applyRoutingMessage,
        ...(deps.heartbeatMs ? { heartbeatMs: deps.heartbeatMs } : {}),
      },
      (event) => {
        if (event.type === "STATE") sendBack({ type: "PROJECTION", projection: { ...event.state, seq: event.seq } });
        else if (event.type === "INVALID") sendBack({ type: "INVALID", record: { subject: event.subject, seq: event.seq, reason: event.reason } });
        else sendBack(event);
      },
    ),
  );
}

/**
 * The last record of every subject of ROUTING, and the stream sequence it is current to (one read,
 * for planning). A record that does not parse is left out, as the consumers leave it out.
 */
export async function loadProjection(js: JetStreamClient, jsm: JetStreamManager): Promise<RoutingProjection> {
  return await fromStore("stream ROUTING", async () => {
    const info = await jsm.streams.info("ROUTING");
    let projection = emptyProjection();
    if (info.state.messages === 0) return { ...projection, seq: info.state.last_seq };
    const consumer = await js.consumers.get("ROUTING", { deliver_policy: DeliverPolicy.LastPerSubject, filter_subjects: "routing.>" });
    const messages = await consumer.consume();
    try {
      for await (const msg of messages) {
        let json: unknown;
        try {
          json = msg.json();
        } catch {
          json = undefined; // refused by the schema below, and left out
        }
        projection = applyRoutingMessage(projection, json, msg.subject, Math.max(projection.seq, msg.seq)).state;
        if (msg.info.pending === 0) break;
      }
    } finally {
      await messages.close();
    }
    return { ...projection, seq: Math.max(projection.seq, info.state.last_seq) };
  });
}
