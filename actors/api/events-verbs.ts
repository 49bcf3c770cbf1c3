import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { eventFromStatus, eventsFilter, eventsRequestSchema, type EventsReply } from "../../model/cluster-events.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { readRange } from "../store/read-range.ts";

export interface EventsDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * The `events` API verb: one page of the cluster's Status (stream STATUS) as one-line events.
 * Read-only, so observers may ask it; the lines are made here, from the record fields that say
 * what happened (never the raw records).
 */
export function eventsVerbs(deps: EventsDeps): Record<string, (body: unknown) => Promise<unknown>> {
  return {
    events: async (body) => {
      const request = parseRequest(eventsRequestSchema, body, "events");
      const page = await readRange(deps.js, deps.jsm, { stream: "STATUS", filter: eventsFilter(request.namespace), afterSeq: request.afterSeq, sinceMs: request.sinceMs, limit: request.limit });
      const reply: EventsReply = { type: "events", events: page.messages.map((m) => eventFromStatus(m.seq, m.subject, m.json, m.storedAt)), lastSeq: page.lastSeq, more: page.more };
      return reply;
    },
  };
}
