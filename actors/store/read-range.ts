import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { randomBytes } from "node:crypto";
import { parseJson, type StoredMessage } from "./read-subject.ts";
import { fromStore } from "./store-errors.ts";

export interface RangeQuery {
  stream: string;
  /** A subject filter, wildcards allowed. */
  filter: string;
  /** Messages after this sequence (wins over `sinceMs`). */
  afterSeq?: number | undefined;
  /** Messages stored at or after this time (unix milliseconds). */
  sinceMs?: number | undefined;
  limit: number;
}

export interface RangePage {
  messages: Array<StoredMessage & { storedAt: string }>;
  /** The last sequence looked at: the stream's last when nothing more matched. */
  lastSeq: number;
  more: boolean;
}

/**
 * One page of the messages of `filter` from a sequence or a time on, oldest first. An ephemeral
 * consumer says how many match before anything is read, so the call never waits for messages
 * that are not there; it is deleted afterwards (and expires by itself if this process dies).
 */
export async function readRange(js: JetStreamClient, jsm: JetStreamManager, query: RangeQuery): Promise<RangePage> {
  return await fromStore(`${query.filter} in stream ${query.stream}`, async () => {
    const info = await jsm.streams.info(query.stream);
    const streamLast = info.state.last_seq;
    if (query.afterSeq !== undefined && query.afterSeq >= streamLast) return { messages: [], lastSeq: streamLast, more: false };
    const name = `range-${randomBytes(6).toString("hex")}`;
    const start =
      query.afterSeq !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: query.afterSeq + 1 }
        : query.sinceMs !== undefined
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(query.sinceMs).toISOString() }
          : { deliver_policy: DeliverPolicy.All };
    const consumer = await jsm.consumers.add(query.stream, { name, filter_subject: query.filter, ack_policy: AckPolicy.None, inactive_threshold: 30_000_000_000, ...start });
    try {
      const pending = consumer.num_pending;
      const wanted = Math.min(pending, query.limit);
      const messages: RangePage["messages"] = [];
      if (wanted > 0) {
        const batch = await (await js.consumers.get(query.stream, name)).fetch({ max_messages: wanted, expires: 5_000 });
        for await (const msg of batch) {
          messages.push({ seq: msg.seq, subject: msg.subject, json: parseJson(msg.string()), storedAt: msg.time.toISOString() });
          if (messages.length >= wanted) break;
        }
      }
      const more = pending > messages.length;
      // Nothing more matched up to the stream's end: the next page starts after it.
      const lastSeq = more ? (messages.at(-1)?.seq ?? query.afterSeq ?? 0) : Math.max(streamLast, messages.at(-1)?.seq ?? 0);
      return { messages, lastSeq, more };
    } finally {
      await jsm.consumers.delete(query.stream, name);
    }
  });
}
