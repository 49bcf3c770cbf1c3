import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";

/** One stored message: its stream sequence and its JSON payload. */
export interface StoredMessage {
  seq: number;
  subject: string;
  json: unknown;
}

/**
 * Every message of `subject` in `stream`, oldest first, read with an ordered consumer up to the
 * subject's last message at the time of the call (so it terminates on a live stream).
 */
export async function readSubject(js: JetStreamClient, jsm: JetStreamManager, stream: string, subject: string): Promise<StoredMessage[]> {
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  if (!last) return [];
  const out: StoredMessage[] = [];
  const consumer = await js.consumers.get(stream, { filter_subjects: subject });
  const messages = await consumer.consume();
  for await (const msg of messages) {
    out.push({ seq: msg.seq, subject: msg.subject, json: msg.json() });
    if (msg.seq >= last.seq) break;
  }
  await messages.close();
  return out;
}
