import { sleep } from "../actors/sleep.ts";
import type { ClusterEvent, EventsReply, EventsRequest } from "../model/cluster-events.ts";

/** How often `events --follow` asks for what is new when the last answer was complete. */
export const EVENTS_POLL_MS = 1_000;

/**
 * Every event of a query, page by page, then (with `follow`) what comes after, until `signal`
 * aborts. Each page starts after the last STATUS sequence the previous one read, so no event is
 * shown twice and none is skipped. The next page is asked only once the caller took this one:
 * a slow terminal slows the reading, nothing piles up.
 */
export async function* eventPages(ask: (request: EventsRequest) => Promise<EventsReply>, request: EventsRequest, options: { follow: boolean; signal: AbortSignal; pollMs?: number }): AsyncGenerator<ClusterEvent[]> {
  let next: EventsRequest = request;
  while (!options.signal.aborted) {
    const reply = await ask(next);
    if (reply.events.length > 0) yield reply.events;
    next = { ...(request.namespace ? { namespace: request.namespace } : {}), afterSeq: reply.lastSeq };
    if (reply.more) continue;
    if (!options.follow) return;
    await sleep(options.pollMs ?? EVENTS_POLL_MS, options.signal);
  }
}
