import { describe, expect, it } from "vitest";
import { createActor, fromCallback, SimulatedClock } from "xstate";
import { routingConsumerMachine, type ApplierEvent, type RoutingConsumerEvent } from "../../machines/routing-consumer.ts";
import { routingConsumerStatus, type RoutingConsumerSnapshot } from "../../model/routing-status.ts";
import { DEFAULT_SUPERVISION_POLICY } from "../../model/supervision.ts";
import { aBackend, aProjection, aRoute, aRoutingRecord } from "../fixtures/routing.ts";
import { flush } from "../fixtures/effects.ts";

const BACKOFF = { ...DEFAULT_SUPERVISION_POLICY, initialBackoffMs: 500, maxBackoffMs: 5_000 };
const web = aRoutingRecord({ service: "web", routes: [aRoute("shop.example.com")], backends: [aBackend(0)] });

/** A consumer with a follower and an applier the test drives by hand, on a simulated clock. */
function start() {
  const clock = new SimulatedClock();
  clock.set(1_700_000_000_000);
  const followers: Array<{ tell: (event: RoutingConsumerEvent) => void; stopped: boolean }> = [];
  const applied: ApplierEvent[] = [];
  let applierTell!: (event: RoutingConsumerEvent) => void;
  const freshness: string[] = [];
  const machine = routingConsumerMachine.provide({
    actors: {
      follow: fromCallback(({ sendBack }) => {
        const f = { tell: sendBack as (event: RoutingConsumerEvent) => void, stopped: false };
        followers.push(f);
        return () => {
          f.stopped = true;
        };
      }),
      apply: fromCallback(({ sendBack, receive }) => {
        applierTell = sendBack as (event: RoutingConsumerEvent) => void;
        receive((event) => void applied.push(event as ApplierEvent));
      }) as never,
    },
    actions: { freshnessChanged: (_, p) => void freshness.push(p.reason ? `${p.freshness}: ${p.reason}` : p.freshness) },
  });
  const actor = createActor(machine, { clock, input: { kind: "gateway", listen: "127.0.0.1:8080", now: () => clock.now(), reloadBackoff: BACKOFF } });
  actor.start();
  const status = () => routingConsumerStatus(actor.getSnapshot() as unknown as RoutingConsumerSnapshot);
  return { clock, actor, followers, applied, applier: () => applierTell, freshness, status, follower: () => followers.at(-1)! };
}

describe("routingConsumerMachine", () => {
  it("loads, hands each whole projection to the applier, and is fresh with what the applier put into effect", async () => {
    const t = start();
    expect(t.status().freshness).toEqual({ state: "loading" });
    t.follower().tell({ type: "PROJECTION", projection: aProjection(web) });
    await flush();
    expect(t.actor.getSnapshot().value).toEqual({ following: "fresh" });
    expect(t.applied).toEqual([{ type: "PROJECTION", projection: aProjection(web) }]);
    // following, but not applied yet: what it serves is behind the stream
    expect(t.status()).toMatchObject({ seq: 0, freshness: { state: "stale", reason: "applying #1" } });
    t.applier()({ type: "APPLIED", seq: 1, excluded: [] });
    await flush();
    expect(t.status()).toMatchObject({ seq: 1, freshness: { state: "fresh" }, services: [{ namespace: "shop", service: "web", hostnames: ["shop.example.com/"], backends: ["10.0.0.10"] }] });
  });

  it.each([
    ["a sequence gap", { type: "GAP", reason: "sequence gap: expected 5, got 7" }, "sequence gap: expected 5, got 7"],
    ["missed heartbeats", { type: "HEARTBEAT_MISSED" }, "missed consumer heartbeats"],
    ["a recreated consumer", { type: "RECREATED" }, "consumer recreated"],
    ["a reconnect", { type: "RECONNECTED" }, "reconnected to NATS"],
  ] as Array<[string, RoutingConsumerEvent, string]>)("after %s it reloads from the stream with a new follower, stale until the new projection", async (_, doubt, reason) => {
    const t = start();
    t.follower().tell({ type: "PROJECTION", projection: aProjection(web) });
    await flush();
    t.follower().tell(doubt);
    await flush();
    t.clock.increment(0); // the first reload is at once
    expect(t.followers[0]!.stopped).toBe(true);
    expect(t.followers).toHaveLength(2); // the first reload is at once
    expect(t.status()).toMatchObject({ reloads: 1, lastReload: { reason }, freshness: { state: "stale", reason } });
    t.follower().tell({ type: "PROJECTION", projection: aProjection(web) });
    t.applier()({ type: "APPLIED", seq: 1, excluded: [] });
    await flush();
    expect(t.status().freshness).toEqual({ state: "fresh" });
    expect(t.freshness).toEqual(["fresh", `stale: reloading: ${reason}`, "fresh"]);
  });

  it("disconnected, it keeps the last projection in effect and is stale; the next projection makes it fresh", async () => {
    const t = start();
    t.follower().tell({ type: "PROJECTION", projection: aProjection(web) });
    t.follower().tell({ type: "DISCONNECTED" });
    await flush();
    expect(t.actor.getSnapshot().value).toEqual({ following: "stale" });
    expect(t.status().freshness).toMatchObject({ state: "stale", reason: "disconnected from NATS" });
    expect(t.applied).toHaveLength(1); // nothing new was applied
    expect(t.followers).toHaveLength(1);
  });

  it("a follower that keeps failing is started again after a backoff that grows", async () => {
    const t = start();
    t.follower().tell({ type: "FOLLOW_FAILED", error: "JetStream not available" });
    await flush();
    t.clock.increment(0);
    expect(t.followers).toHaveLength(2); // the first retry at once
    t.follower().tell({ type: "FOLLOW_FAILED", error: "JetStream not available" });
    await flush();
    expect(t.followers).toHaveLength(2);
    t.clock.increment(499);
    expect(t.followers).toHaveLength(2);
    t.clock.increment(1);
    expect(t.followers).toHaveLength(3);
    t.follower().tell({ type: "FOLLOW_FAILED", error: "JetStream not available" });
    await flush();
    t.clock.increment(999);
    expect(t.followers).toHaveLength(3);
    t.clock.increment(1);
    expect(t.followers).toHaveLength(4);
    expect(t.status().freshness).toEqual({ state: "loading" });
  });

  it("reports records that do not parse, and what the applier left out", async () => {
    const t = start();
    t.follower().tell({ type: "INVALID", record: { subject: "routing.evil.x", seq: 9, reason: "not a routing record of evil/x (routes.0.hostnames.1: hostname a is listed twice); left out" } });
    t.follower().tell({ type: "PROJECTION", projection: aProjection(web) });
    t.applier()({ type: "APPLIED", seq: 9, excluded: [{ namespace: "other", service: "y", reason: "shop.example.com/ is also served by shop/web" }] });
    await flush();
    expect(t.status()).toMatchObject({
      invalid: [{ subject: "routing.evil.x", seq: 9 }],
      excluded: [{ namespace: "other", service: "y", reason: "shop.example.com/ is also served by shop/web" }],
    });
    t.applier()({ type: "APPLY_FAILED", error: "caddy refused the config: HTTP 400" });
    await flush();
    expect(t.status()).toMatchObject({ applyError: "caddy refused the config: HTTP 400", seq: 9 });
    // a newer projection the applier refused: still serving #9, and stale saying why
    t.follower().tell({ type: "PROJECTION", projection: { ...aProjection(web), seq: 12 } });
    t.applier()({ type: "APPLY_FAILED", error: "caddy refused the config: HTTP 400" });
    await flush();
    expect(t.status()).toMatchObject({ seq: 9, freshness: { state: "stale", reason: "not applied: caddy refused the config: HTTP 400" } });
  });

  it("an applier that cannot go on ends the consumer, for its supervisor to restart", async () => {
    const t = start();
    t.applier()({ type: "APPLIER_CRASHED", error: "the DNS socket 172.17.0.1:53: bind EADDRINUSE" });
    await flush();
    expect(t.actor.getSnapshot().status).toBe("done");
    expect(t.actor.getSnapshot().output).toEqual({ error: "the DNS socket 172.17.0.1:53: bind EADDRINUSE" });
  });
});
