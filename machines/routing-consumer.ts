import { assign, fromCallback, sendTo, setup } from "xstate";
import type { RoutingProjection } from "../model/routing.ts";
import { backoffDelay, type SupervisionPolicy } from "../model/supervision.ts";

export interface RoutingConsumerInput {
  /** What it feeds: the gateway (Caddy) or the cluster DNS. */
  kind: "gateway" | "dns";
  /** Where it serves, for `routes`. */
  listen: string;
  /** Wall-clock source (ms); tests pass the simulated clock's. */
  now: () => number;
  /** Between reloads that keep failing. */
  reloadBackoff: SupervisionPolicy;
}

/** A record of the stream that does not parse: left out, and reported. */
export interface InvalidRecord {
  subject: string;
  seq: number;
  reason: string;
}

/** A record that parses but that the applier left out (e.g. the gateway cannot serve it), and why. */
export interface ExcludedRecord {
  namespace: string;
  service: string;
  reason: string;
}

export interface RoutingConsumerContext extends RoutingConsumerInput {
  /** The last whole projection the follower built (what is served). */
  projection: RoutingProjection | undefined;
  /** The stream sequence the applier has put into effect, and when. */
  appliedSeq: number;
  appliedAt: number | undefined;
  excluded: ExcludedRecord[];
  invalid: InvalidRecord[];
  applyError: string | undefined;
  reloads: number;
  lastReload: { at: number; reason: string } | undefined;
  /** Reloads in a row that have not produced a projection yet (for the backoff). */
  failedReloads: number;
  staleSince: number | undefined;
  staleReason: string | undefined;
  /** What the gateway's applier reports about TLS (opaque here). */
  tls: unknown;
}

export type RoutingConsumerEvent =
  /** From the follower: the whole projection, after a load or each record it applied. */
  | { type: "PROJECTION"; projection: RoutingProjection }
  | { type: "INVALID"; record: InvalidRecord }
  /** From the follower: freshness is in doubt. */
  | { type: "GAP"; reason: string }
  | { type: "HEARTBEAT_MISSED" }
  | { type: "RECREATED" }
  | { type: "DISCONNECTED" }
  | { type: "RECONNECTED" }
  | { type: "FOLLOW_FAILED"; error: string }
  /** From the applier. */
  | { type: "APPLIED"; seq: number; excluded: ExcludedRecord[] }
  | { type: "APPLY_FAILED"; error: string }
  | { type: "TLS"; tls: unknown }
  /** The applier cannot go on (the DNS socket failed): this consumer ends and its supervisor restarts it. */
  | { type: "APPLIER_CRASHED"; error: string };

/** The events the applier receives. */
export type ApplierEvent = { type: "PROJECTION"; projection: RoutingProjection };

/** How many invalid records are remembered. */
const INVALID_KEPT = 20;

/**
 * A routing consumer — the gateway or the DNS. `following`: the follower (one stream-follower
 * actor) loads the last routing record of every service and tails the stream, telling this
 * machine every whole projection; it is `fresh` until something casts doubt: a sequence gap,
 * missed heartbeats, a recreated consumer, a reconnect — then `reloading` (after a backoff when
 * reloads keep failing) builds it again from the stream. While NATS is away it is `stale` and the
 * last projection stays in effect. The applier (Caddy, the DNS zone) gets each projection and
 * says what it put into effect. Freshness is this machine's state: `ployz top` shows it and
 * `observe.routes` reads it from the snapshot.
 */
export const routingConsumerMachine = setup({
  types: {
    context: {} as RoutingConsumerContext,
    input: {} as RoutingConsumerInput,
    events: {} as RoutingConsumerEvent,
  },
  actors: {
    follow: fromCallback<RoutingConsumerEvent>(() => {}),
    apply: fromCallback<ApplierEvent, { kind: "gateway" | "dns" }>(() => {}),
  },
  actions: {
    take: assign({
      projection: (_, params: { projection: RoutingProjection }) => params.projection,
      failedReloads: 0,
      staleSince: undefined,
      staleReason: undefined,
    }),
    forward: sendTo("applier", (_, params: { projection: RoutingProjection }): ApplierEvent => ({ type: "PROJECTION", projection: params.projection })),
    /** Freshness changed (the log says so); provided by runtime/. */
    freshnessChanged: (_, _params: { kind: "gateway" | "dns"; freshness: "fresh" | "stale"; reason?: string }) => {},
    doubt: assign({
      staleSince: ({ context }) => context.staleSince ?? context.now(),
      staleReason: (_, params: { reason: string }) => params.reason,
    }),
  },
  delays: {
    backoff: ({ context }) => (context.failedReloads <= 1 ? 0 : backoffDelay(context.failedReloads - 1, context.reloadBackoff)),
  },
}).createMachine({
  id: "routingConsumer",
  context: ({ input }) => ({
    ...input,
    projection: undefined,
    appliedSeq: 0,
    appliedAt: undefined,
    excluded: [],
    invalid: [],
    applyError: undefined,
    reloads: 0,
    lastReload: { at: input.now(), reason: "start" },
    failedReloads: 0,
    staleSince: undefined,
    staleReason: undefined,
    tls: undefined,
  }),
  invoke: { id: "applier", src: "apply", input: ({ context }) => ({ kind: context.kind }) },
  on: {
    INVALID: { actions: assign({ invalid: ({ context, event }) => [...context.invalid, event.record].slice(-INVALID_KEPT) }) },
    APPLIED: { actions: assign({ appliedSeq: ({ event }) => event.seq, appliedAt: ({ context }) => context.now(), excluded: ({ event }) => event.excluded, applyError: undefined }) },
    APPLY_FAILED: { actions: assign({ applyError: ({ event }) => event.error }) },
    TLS: { actions: assign({ tls: ({ event }) => event.tls }) },
    APPLIER_CRASHED: { target: ".crashed", actions: assign({ applyError: ({ event }) => event.error }) },
  },
  output: ({ context }) => ({ error: context.applyError ?? "the routing consumer ended" }),
  initial: "following",
  states: {
    following: {
      invoke: { id: "follower", src: "follow" },
      on: {
        GAP: { target: "reloading", actions: { type: "doubt", params: ({ event }) => ({ reason: event.reason }) } },
        HEARTBEAT_MISSED: { target: "reloading", actions: { type: "doubt", params: { reason: "missed consumer heartbeats" } } },
        RECREATED: { target: "reloading", actions: { type: "doubt", params: { reason: "consumer recreated" } } },
        RECONNECTED: { target: "reloading", actions: { type: "doubt", params: { reason: "reconnected to NATS" } } },
        FOLLOW_FAILED: {
          target: "reloading",
          actions: [{ type: "doubt", params: ({ event }) => ({ reason: `error: ${event.error}` }) }, assign({ failedReloads: ({ context }) => context.failedReloads + 1 })],
        },
      },
      initial: "loading",
      states: {
        loading: {
          on: {
            PROJECTION: {
              target: "fresh",
              actions: [
                { type: "take", params: ({ event }) => ({ projection: event.projection }) },
                { type: "forward", params: ({ event }) => ({ projection: event.projection }) },
              ],
            },
          },
        },
        fresh: {
          entry: { type: "freshnessChanged", params: ({ context }) => ({ kind: context.kind, freshness: "fresh" as const }) },
          on: {
            PROJECTION: {
              actions: [
                { type: "take", params: ({ event }) => ({ projection: event.projection }) },
                { type: "forward", params: ({ event }) => ({ projection: event.projection }) },
              ],
            },
            DISCONNECTED: { target: "stale", actions: { type: "doubt", params: { reason: "disconnected from NATS" } } },
          },
        },
        stale: {
          entry: { type: "freshnessChanged", params: ({ context }) => ({ kind: context.kind, freshness: "stale" as const, reason: context.staleReason ?? "stale" }) },
          on: {
            PROJECTION: {
              target: "fresh",
              actions: [
                { type: "take", params: ({ event }) => ({ projection: event.projection }) },
                { type: "forward", params: ({ event }) => ({ projection: event.projection }) },
              ],
            },
          },
        },
      },
    },
    crashed: { type: "final" },
    reloading: {
      entry: [
        assign({ reloads: ({ context }) => context.reloads + 1, lastReload: ({ context }) => ({ at: context.now(), reason: context.staleReason ?? "doubt" }) }),
        { type: "freshnessChanged", params: ({ context }) => ({ kind: context.kind, freshness: "stale" as const, reason: `reloading: ${context.staleReason ?? "doubt"}` }) },
      ],
      after: { backoff: "following" },
    },
  },
});
