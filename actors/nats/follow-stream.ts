import { errorText } from "../../model/errors.ts";
import { parseJsonOrUndefined } from "../../model/json.ts";
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** What a stream follower tells its owner. */
export type FollowEvent<S> =
  /** The whole state: after the load, and after every message it applied. `seq` is the stream sequence it is current to. */
  | { type: "STATE"; state: S; seq: number }
  /** A message that does not parse: left out. */
  | { type: "INVALID"; subject: string; seq: number; reason: string }
  /** Doubt: the follower has stopped and must be started again (a reload). */
  | { type: "GAP"; reason: string }
  | { type: "HEARTBEAT_MISSED" }
  | { type: "RECREATED" }
  | { type: "RECONNECTED" }
  | { type: "FOLLOW_FAILED"; error: string }
  /** NATS is away: the follower waits (its state is stale meanwhile). */
  | { type: "DISCONNECTED" };

/** A load (the last record of every subject) that takes longer than this many heartbeats is doubt. */
const LOAD_DEADLINE_HEARTBEATS = 10;

export interface FollowStreamOptions<S> {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** The subjects followed, e.g. `routing.>`. */
  filter: string;
  initial: () => S;
  /** Applies one message's JSON (pure): the next state, and why the message does not parse when it does not. */
  apply: (state: S, json: unknown, subject: string, seq: number) => { state: S; invalid?: string };
  /** How often the server must be heard from while idle; missing two is doubt. */
  heartbeatMs?: number;
}

/**
 * Follows a stream whose subjects each hold whole records: loads the last message of every
 * subject, then tails the stream in order from the next sequence, reporting the whole state each
 * time. At the first doubt — a sequence gap, missed heartbeats, the ordered consumer recreated, a
 * reconnect, an error — it reports it and stops: its owner starts it again, which reloads from the
 * stream instead of patching. The one way the routing consumers (and any other projection of a
 * stream) read. Returns the way to stop it.
 */
export function followStream<S>(options: FollowStreamOptions<S>, emit: (event: FollowEvent<S>) => void): () => void {
  const abort = new AbortController();
  let ended = false;
  const end = (event?: FollowEvent<S>) => {
    if (ended) return;
    ended = true;
    if (event && !abort.signal.aborted) emit(event);
    abort.abort();
  };
  const statuses = options.nc.status();
  abort.signal.addEventListener("abort", () => (statuses as { stop?: () => void }).stop?.(), { once: true });
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect") emit({ type: "DISCONNECTED" });
      else if (status.type === "reconnect") end({ type: "RECONNECTED" });
    }
  })().catch((error: unknown) => end({ type: "FOLLOW_FAILED", error: `NATS status: ${errorText(error)}` }));

  void (async () => {
    let state = options.initial();
    const info = await options.jsm.streams.info(options.stream);
    let seq = info.state.last_seq;
    if (info.state.messages > 0) {
      const heartbeatMs = options.heartbeatMs ?? 2_000;
      const consumer = await options.js.consumers.get(options.stream, { deliver_policy: DeliverPolicy.LastPerSubject, filter_subjects: options.filter });
      const messages = await consumer.consume({ idle_heartbeat: heartbeatMs } as never);
      abort.signal.addEventListener("abort", () => void messages.close().catch(() => undefined), { once: true }); // closing what ends anyway
      // A load the server stops feeding (paused, or its pull lost over a reconnect) is doubt too:
      // missed heartbeats end it, and so does a load that takes longer than LOAD_DEADLINE_HEARTBEATS.
      void (async () => {
        for await (const note of messages.status()) {
          if (note.type === "heartbeats_missed") end({ type: "HEARTBEAT_MISSED" });
        }
      })().catch((error: unknown) => end({ type: "FOLLOW_FAILED", error: `consumer status while loading: ${errorText(error)}` }));
      const deadline = setTimeout(
        () => end({ type: "FOLLOW_FAILED", error: `loading ${options.stream} did not finish within ${LOAD_DEADLINE_HEARTBEATS * heartbeatMs} ms` }),
        LOAD_DEADLINE_HEARTBEATS * heartbeatMs,
      );
      abort.signal.addEventListener("abort", () => clearTimeout(deadline), { once: true });
      try {
        for await (const msg of messages) {
          const next = options.apply(state, parseJsonOrUndefined(msg.string()), msg.subject, msg.seq);
          state = next.state;
          if (next.invalid !== undefined) emit({ type: "INVALID", subject: msg.subject, seq: msg.seq, reason: next.invalid });
          if (msg.info.pending === 0) break;
        }
      } finally {
        clearTimeout(deadline);
        await messages.close();
      }
    }
    if (abort.signal.aborted) return;
    emit({ type: "STATE", state, seq });

    const consumer = await options.js.consumers.get(options.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seq + 1, filter_subjects: options.filter });
    const messages = await consumer.consume({ idle_heartbeat: options.heartbeatMs ?? 2_000 } as never);
    abort.signal.addEventListener("abort", () => void messages.close().catch(() => undefined), { once: true }); // closing what ends anyway
    void (async () => {
      for await (const note of messages.status()) {
        if (note.type === "heartbeats_missed") end({ type: "HEARTBEAT_MISSED" });
        if (note.type === "ordered_consumer_recreated") end({ type: "RECREATED" });
      }
    })().catch((error: unknown) => end({ type: "FOLLOW_FAILED", error: `consumer status: ${errorText(error)}` }));
    for await (const msg of messages) {
      // A message skipped over (even one a per-subject limit removed) is doubt: reload rather than guess.
      if (msg.seq !== seq + 1) {
        end({ type: "GAP", reason: `sequence gap: expected ${seq + 1}, got ${msg.seq}` });
        return;
      }
      seq = msg.seq;
      const next = options.apply(state, parseJsonOrUndefined(msg.string()), msg.subject, msg.seq);
      state = next.state;
      if (next.invalid !== undefined) emit({ type: "INVALID", subject: msg.subject, seq: msg.seq, reason: next.invalid });
      emit({ type: "STATE", state, seq });
    }
    end({ type: "FOLLOW_FAILED", error: "the consumer ended" });
  })().catch((error: unknown) => end({ type: "FOLLOW_FAILED", error: errorText(error) }));

  return () => end();
}
