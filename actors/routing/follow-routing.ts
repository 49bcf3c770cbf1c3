import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { applyRoutingRecord, emptyProjection, routingRecordSchema, type Freshness, type RoutingProjection } from "../../model/routing.ts";
import { sleep } from "../sleep.ts";

export interface FollowRoutingOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  signal: AbortSignal;
  /** Called with every new projection (whole, never a patch). */
  onProjection: (projection: RoutingProjection) => Promise<void> | void;
  onFreshness: (freshness: Freshness) => void;
  /** How often the consumer must hear from the server (idle heartbeat); missing two is a doubt. */
  heartbeatMs?: number;
  onReload?: (reason: string) => void;
}

/**
 * A routing consumer: builds the projection from the last record of every subject, then follows
 * the stream in order. Whenever freshness is uncertain — a sequence gap, missed heartbeats, the
 * consumer recreated, a reconnect — it reloads from the stream instead of patching. While the
 * store is unreachable the last projection stays in use and freshness is `stale`.
 */
export async function followRouting(options: FollowRoutingOptions): Promise<void> {
  let disconnectedSince: string | undefined;
  let doubt: ((reason: string) => void) | undefined;
  const statuses = options.nc.status();
  // Stop listening when this consumer stops, or every restart would leave a listener behind.
  options.signal.addEventListener("abort", () => (statuses as { stop?: () => void }).stop?.(), { once: true });
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect") {
        disconnectedSince ??= new Date().toISOString();
        options.onFreshness({ state: "stale", since: disconnectedSince, reason: "disconnected from NATS" });
        doubt?.("disconnected from NATS");
      } else if (status.type === "reconnect") {
        doubt?.("reconnected to NATS");
      }
    }
  })();
  let reason = "start";
  while (!options.signal.aborted) {
    try {
      options.onReload?.(reason);
      const projection = await loadProjection(options.js, options.jsm);
      await options.onProjection(projection);
      disconnectedSince = undefined;
      options.onFreshness({ state: "fresh" });
      reason = await tail(options, projection, (stop) => (doubt = stop));
    } catch (error) {
      if (options.signal.aborted) break;
      reason = `error: ${error instanceof Error ? error.message : String(error)}`;
      const since = disconnectedSince ?? new Date().toISOString();
      disconnectedSince = since;
      options.onFreshness({ state: "stale", since, reason });
      await sleep(500, options.signal);
    }
  }
}

/** The last record of every subject of ROUTING, and the stream sequence it is current to. */
export async function loadProjection(js: JetStreamClient, jsm: JetStreamManager): Promise<RoutingProjection> {
  const info = await jsm.streams.info("ROUTING");
  let projection = emptyProjection();
  if (info.state.messages === 0) return { ...projection, seq: info.state.last_seq };
  const consumer = await js.consumers.get("ROUTING", { deliver_policy: DeliverPolicy.LastPerSubject, filter_subjects: "routing.>" });
  const messages = await consumer.consume();
  try {
    for await (const msg of messages) {
      const record = routingRecordSchema.safeParse(msg.json());
      if (record.success) projection = applyRoutingRecord(projection, record.data, Math.max(projection.seq, msg.seq));
      if (msg.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  // Current up to the stream's end at the time of loading (later messages come from the tail).
  return { ...projection, seq: Math.max(projection.seq, info.state.last_seq) };
}

async function tail(options: FollowRoutingOptions, start: RoutingProjection, setDoubt: (stop: (reason: string) => void) => void): Promise<string> {
  let projection = start;
  const consumer = await options.js.consumers.get("ROUTING", {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: start.seq + 1,
    filter_subjects: "routing.>",
  });
  const messages = await consumer.consume({ idle_heartbeat: options.heartbeatMs ?? 2_000 } as never);
  let stopReason: string | undefined;
  const stop = (reason: string) => {
    stopReason ??= reason;
    void messages.close();
  };
  setDoubt(stop);
  const onAbort = () => stop("stopped");
  options.signal.addEventListener("abort", onAbort, { once: true });
  void (async () => {
    for await (const note of messages.status()) {
      if (note.type === "heartbeats_missed") stop("missed consumer heartbeats");
      if (note.type === "ordered_consumer_recreated") stop("consumer recreated");
    }
  })();
  try {
    for await (const msg of messages) {
      if (msg.seq !== projection.seq + 1) {
        stop(`sequence gap: expected ${projection.seq + 1}, got ${msg.seq}`);
        break;
      }
      const record = routingRecordSchema.safeParse(msg.json());
      projection = record.success ? applyRoutingRecord(projection, record.data, msg.seq) : { ...projection, seq: msg.seq };
      await options.onProjection(projection);
    }
  } finally {
    options.signal.removeEventListener("abort", onAbort);
  }
  return stopReason ?? "consumer ended";
}

