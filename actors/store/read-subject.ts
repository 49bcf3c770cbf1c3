import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { fromStore } from "./store-errors.ts";

/** One stored message: its stream sequence and its JSON payload. */
export interface StoredMessage {
  seq: number;
  subject: string;
  json: unknown;
}

/**
 * Every message of `subject` in `stream`, oldest first, read with an ordered consumer up to the
 * subject's last message at the time of the call (so it terminates on a live stream). A store
 * that cannot be read is a StoreUnavailableError, never an empty list.
 */
export async function readSubject(js: JetStreamClient, jsm: JetStreamManager, stream: string, subject: string): Promise<StoredMessage[]> {
  return await fromStore(`${subject} in stream ${stream}`, async () => {
    const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    if (!last) return [];
    const out: StoredMessage[] = [];
    const consumer = await js.consumers.get(stream, { filter_subjects: subject });
    const messages = await consumer.consume();
    try {
      for await (const msg of messages) {
        out.push({ seq: msg.seq, subject: msg.subject, json: msg.json() });
        if (msg.seq >= last.seq) break;
      }
    } finally {
      await messages.close();
    }
    return out;
  });
}

/** The last message of `subject` in `stream` as JSON with its sequence, or null when the subject has none. */
export async function readLastMessage(jsm: JetStreamManager, stream: string, subject: string): Promise<StoredMessage | null> {
  return await fromStore(`the last message of ${subject} in stream ${stream}`, async () => {
    const msg = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    return msg ? { seq: msg.seq, subject: msg.subject, json: parseJson(msg.string()) } : null;
  });
}

/** Message `seq` of `stream`, or null when there is none. */
export async function readMessageAt(jsm: JetStreamManager, stream: string, seq: number): Promise<StoredMessage | null> {
  return await fromStore(`message ${seq} of stream ${stream}`, async () => {
    const msg = await jsm.streams.getMessage(stream, { seq });
    return msg ? { seq: msg.seq, subject: msg.subject, json: parseJson(msg.string()) } : null;
  });
}

/** JSON, or the raw text when it is not JSON (the caller's schema then refuses it, naming the record). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
