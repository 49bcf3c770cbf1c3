import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { linkState } from "../../machines/mesh-status.ts";
import { meshLinkMachine } from "../../machines/mesh-link.ts";
import type { WireGuardPeerStats } from "../../model/wireguard-dump.ts";
import { planPeers } from "../../model/wireguard-peers.ts";
import { aMeshMember, aWireGuardKey } from "../fixtures/mesh.ts";

const STALE_MS = 180_000;
const peer = planPeers([aMeshMember("m2", 2)], { machineId: "m1", publicKey: aWireGuardKey(1) }).peers[0]!;

function startLink() {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const actor = createActor(meshLinkMachine, { clock, input: { peer, staleAfterMs: STALE_MS, now: () => clock.now() } });
  actor.start();
  const stats = (handshakeAgoMs: number | undefined, rxBytes = 0): WireGuardPeerStats => ({
    publicKey: peer.publicKey,
    endpoint: peer.endpoint,
    allowedIps: peer.allowedIps,
    latestHandshakeAt: handshakeAgoMs === undefined ? undefined : clock.now() - handshakeAgoMs,
    rxBytes,
    txBytes: 0,
    persistentKeepaliveS: 25,
  });
  const state = () => linkState(actor.getSnapshot());
  return { actor, clock, stats, state };
}

describe("meshLink", () => {
  it("stays configuring until the interface holds the peer and a fresh handshake is seen, then is up", () => {
    const { actor, stats, state } = startLink();
    expect(state()).toBe("configuring");
    // A handshake seen before the interface took this configuration does not count.
    actor.send({ type: "STATS", stats: stats(1_000) });
    expect(state()).toBe("configuring");
    actor.send({ type: "CONFIGURED" });
    actor.send({ type: "STATS", stats: stats(undefined) });
    expect(state()).toBe("configuring");
    actor.send({ type: "STATS", stats: stats(500, 42) });
    expect(state()).toBe("up");
    expect(actor.getSnapshot().context.rxBytes).toBe(42);
  });

  it("is stale when no handshake comes within the stale time of being configured", () => {
    const { actor, clock, state } = startLink();
    actor.send({ type: "CONFIGURED" });
    clock.increment(STALE_MS - 1);
    expect(state()).toBe("configuring");
    clock.increment(1);
    expect(state()).toBe("stale");
  });

  it("goes stale when its latest handshake gets too old, and up again on a fresh one", () => {
    const { actor, clock, stats, state } = startLink();
    actor.send({ type: "CONFIGURED" });
    actor.send({ type: "STATS", stats: stats(0) });
    expect(state()).toBe("up");
    clock.increment(120_000);
    // A newer handshake restarts the expiry.
    actor.send({ type: "STATS", stats: stats(0) });
    clock.increment(STALE_MS - 1);
    expect(state()).toBe("up");
    clock.increment(1);
    expect(state()).toBe("stale");
    const since = actor.getSnapshot().context.since;
    expect(since).toBe(clock.now());
    actor.send({ type: "STATS", stats: stats(10) });
    expect(state()).toBe("up");
  });

  it("goes stale at once when the stats show an old handshake (a clock that jumped, a missed timer)", () => {
    const { actor, clock, stats, state } = startLink();
    actor.send({ type: "CONFIGURED" });
    actor.send({ type: "STATS", stats: stats(0) });
    const oldHandshake = stats(0);
    clock.increment(STALE_MS / 2);
    actor.send({ type: "STATS", stats: { ...oldHandshake, latestHandshakeAt: clock.now() - STALE_MS - 1 } });
    expect(state()).toBe("stale");
  });

  it("is configuring again when membership changes the peer, and removed (final) when it leaves", () => {
    const { actor, stats, state } = startLink();
    actor.send({ type: "CONFIGURED" });
    actor.send({ type: "STATS", stats: stats(0) });
    expect(state()).toBe("up");
    actor.send({ type: "CHANGED", peer: { ...peer, endpoint: "10.213.0.77:51820" } });
    expect(state()).toBe("configuring");
    expect(actor.getSnapshot().context.peer.endpoint).toBe("10.213.0.77:51820");
    expect(actor.getSnapshot().context.configuredAt).toBeUndefined();
    actor.send({ type: "REMOVE" });
    expect(state()).toBe("removed");
    expect(actor.getSnapshot().status).toBe("done");
  });
});
