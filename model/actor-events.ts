import { z } from "zod";

/** One event an actor processed, and the state it left the actor in. */
export const actorEventSchema = z.object({
  /** When the actor processed it (ms since epoch, the publishing machine's clock). */
  at: z.number(),
  sessionId: z.string(),
  path: z.string(),
  event: z.string(),
  state: z.string().optional(),
});
export type ActorEvent = z.infer<typeof actorEventSchema>;

/**
 * A batch of events on `ployz.events.<machine>`, published by the node's inspector at most a few
 * times a second. `dropped` counts the events left out since the previous batch to keep the rate.
 */
export const actorEventsMessageSchema = z.object({
  type: z.literal("events"),
  machine: z.string(),
  at: z.string(),
  seq: z.number(),
  events: z.array(actorEventSchema),
  dropped: z.number().int().nonnegative(),
});
export type ActorEventsMessage = z.infer<typeof actorEventsMessageSchema>;

/** How many events per second a node forwards at most; the rest are counted, not sent. */
export const DEFAULT_EVENTS_PER_SECOND = 50;

/**
 * The bounded, rate-limited queue between the inspection callback and the publisher: a token
 * bucket of `perSecond` tokens, refilled by the events' own clock. An event that finds no token is
 * dropped and counted, so a busy node costs at most `perSecond` small records a second; at most
 * four seconds' worth wait for the publisher. Pure.
 */
export class ActorEventQueue {
  private queue: ActorEvent[] = [];
  private dropped = 0;
  private tokens: number;
  private refilledAt: number | undefined;

  private readonly capacity: number;

  constructor(private readonly perSecond = DEFAULT_EVENTS_PER_SECOND) {
    this.tokens = perSecond;
    this.capacity = perSecond * 4;
  }

  /** Queues `event` if the rate allows; returns whether it was kept. */
  push(event: ActorEvent): boolean {
    if (this.refilledAt !== undefined && event.at > this.refilledAt) {
      this.tokens = Math.min(this.perSecond, this.tokens + ((event.at - this.refilledAt) / 1_000) * this.perSecond);
    }
    if (this.refilledAt === undefined || event.at > this.refilledAt) this.refilledAt = event.at;
    if (this.tokens < 1) {
      this.dropped++;
      return false;
    }
    this.tokens -= 1;
    this.queue.push(event);
    // Nobody taking (the publisher is restarting): keep the newest, count the rest.
    if (this.queue.length > this.capacity) {
      this.queue.shift();
      this.dropped++;
    }
    return true;
  }

  /** Everything queued since the last take, and how many were dropped meanwhile. */
  take(): { events: ActorEvent[]; dropped: number } {
    const taken = { events: this.queue, dropped: this.dropped };
    this.queue = [];
    this.dropped = 0;
    return taken;
  }

  get pending(): number {
    return this.queue.length + this.dropped;
  }
}
