import { describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import { meshPeerMachine, type MeshInterface, type MeshPeerEvent, type PeerChange, type StatsWatchEvent, type StatsWatchInput } from "../../machines/mesh-peer.ts";
import { linkState, meshStatus } from "../../machines/mesh-status.ts";
import { meshObservationSchema } from "../../model/mesh-observation.ts";
import { overlayAddress } from "../../model/overlay-address.ts";
import type { WireGuardInterfaceStats } from "../../model/wireguard-dump.ts";
import { HANDSHAKE_STALE_AFTER_MS } from "../../model/wireguard-peers.ts";
import { supervisedChildMachine } from "../../machines/supervised-child.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { aMachine } from "../fixtures/machines.ts";
import { aMeshMember, aWireGuardKey } from "../fixtures/mesh.ts";

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A fake membership watch driven by the test: counts starts and cleanups, keeps the latest sendBack. */
function recordingWatch(options: { throws?: Error } = {}) {
  const watch = { started: 0, cleanedUp: 0, send: undefined as ((event: MeshPeerEvent) => void) | undefined };
  const logic = fromCallback<MeshPeerEvent>(({ sendBack }) => {
    watch.started++;
    if (options.throws) throw options.throws;
    watch.send = sendBack;
    return () => {
      watch.cleanedUp++;
    };
  });
  return { watch, logic };
}

/** A meshPeer without WireGuard (one dev machine) whose watch is driven by the test; `applied` lists the memberships it took. */
function startMeshPeer(options: { watchThrows?: Error } = {}) {
  const applied: MachineRecord[][] = [];
  const { watch, logic } = recordingWatch(options.watchThrows ? { throws: options.watchThrows } : {});
  const machine = meshPeerMachine.provide({ actors: { watchMachines: logic } });
  const actor = createActor(machine, { input: { name: "meshPeer" } });
  const errors: unknown[] = [];
  actor.subscribe({
    next: (snapshot) => {
      if (snapshot.context.updates > applied.length) applied.push(snapshot.context.members);
    },
    error: (error) => errors.push(error),
  });
  actor.start();
  return { actor, applied, watch, errors };
}

describe("meshPeerMachine without WireGuard", () => {
  it("starts watching membership with nothing applied yet", () => {
    const { actor, applied, watch } = startMeshPeer();
    expect(actor.getSnapshot().value).toEqual({ watching: "idle" });
    expect(actor.getSnapshot().context).toMatchObject({ members: [], updates: 0, mesh: undefined, applied: [], links: {} });
    expect(watch.started).toBe(1);
    expect(applied).toEqual([]);
  });

  it("applies the whole membership list on every MEMBERS event", () => {
    const { actor, applied, watch } = startMeshPeer();
    const a = aMachine({ id: "a" });
    const b = aMachine({ id: "b", storage: false });
    const c = aMachine({ id: "c", region: "eu" });

    watch.send!({ type: "MEMBERS", machines: [a, b] });
    expect(actor.getSnapshot().context.members).toEqual([a, b]);
    expect(actor.getSnapshot().context.updates).toBe(1);
    expect(applied).toEqual([[a, b]]);

    // The next list replaces the previous one: b left, c joined.
    watch.send!({ type: "MEMBERS", machines: [a, c] });
    expect(actor.getSnapshot().context.members).toEqual([a, c]);
    expect(actor.getSnapshot().context.updates).toBe(2);
    expect(applied).toEqual([
      [a, b],
      [a, c],
    ]);

    // An empty membership is applied too (every peer removed), not skipped.
    watch.send!({ type: "MEMBERS", machines: [] });
    expect(actor.getSnapshot().context.members).toEqual([]);
    expect(actor.getSnapshot().context.updates).toBe(3);
    expect(applied.at(-1)).toEqual([]);
    expect(actor.getSnapshot().status).toBe("active");
  });

  it("ends in crashed with the reason as output when the watch reports WATCH_FAILED, so its supervisor restarts it", () => {
    const { actor, applied, watch, errors } = startMeshPeer();
    watch.send!({ type: "MEMBERS", machines: [aMachine({ id: "a" })] });
    watch.send!({ type: "WATCH_FAILED", reason: "connection closed" });

    const snapshot = actor.getSnapshot();
    expect(snapshot.status).toBe("done");
    expect(snapshot.value).toBe("crashed");
    expect(snapshot.output).toEqual({ error: "machines watch failed: connection closed" });
    expect(watch.cleanedUp).toBe(1); // leaving `watching` stopped the watch
    expect(errors).toHaveLength(0);
    // A failed meshPeer applies nothing more, whatever its old watch still sends.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {}); // XState: "sent to stopped actor"
    try {
      watch.send!({ type: "MEMBERS", machines: [] });
    } finally {
      warn.mockRestore();
    }
    expect(applied).toHaveLength(1);
  });

  it("closes its watch when it fails, so a supervised restart leaves exactly one watch open", async () => {
    const clock = new SimulatedClock();
    const { watch, logic } = recordingWatch();
    const supervised = supervisedChildMachine.provide({
      actors: { child: meshPeerMachine.provide({ actors: { watchMachines: logic } }) as never },
    });
    const actor = createActor(supervised, { clock, input: { name: "meshPeer", now: () => clock.now() } });
    actor.start();
    watch.send!({ type: "WATCH_FAILED", reason: "connection closed" });
    await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    clock.increment(60_000);
    expect(actor.getSnapshot().value).toBe("running");
    expect(watch.started).toBe(2);
    expect(watch.started - watch.cleanedUp).toBe(1);
  });

  it("ends in crashed when the watch itself fails to start", async () => {
    const { actor, applied } = startMeshPeer({ watchThrows: new Error("bucket machines not found") });
    await flush();
    const snapshot = actor.getSnapshot();
    expect(snapshot.status).toBe("done");
    expect(snapshot.output).toEqual({ error: "machines watch failed: bucket machines not found" });
    expect(applied).toEqual([]);
  });

  it("fails loudly when runtime/ did not provide a watch", async () => {
    const actor = createActor(meshPeerMachine, { input: { name: "meshPeer" } });
    actor.start();
    await flush();
    expect(actor.getSnapshot().status).toBe("done");
    expect(actor.getSnapshot().output).toEqual({ error: "machines watch failed: watchMachines not provided" });
  });
});

/** A meshPeer with WireGuard whose effects are fakes the test drives: the interface, each apply, the stats. */
function startMeshedPeer(options: { interfaceFails?: Error } = {}) {
  const clock = new SimulatedClock();
  clock.set(10_000_000);
  const { watch, logic } = recordingWatch();
  const iface: MeshInterface = { name: "plzw1", implementation: "wireguard-go", publicKey: aWireGuardKey(1), overlayIp: overlayAddress(aWireGuardKey(1)), listenPort: 51820 };
  const applies: Array<{ change: PeerChange; resolve: () => void; reject: (error: Error) => void }> = [];
  let sendStats: ((event: MeshPeerEvent) => void) | undefined;
  const statsPokes: string[] = [];
  const machine = meshPeerMachine.provide({
    actors: {
      watchMachines: logic,
      ensureInterface: fromPromise<MeshInterface>(async () => {
        if (options.interfaceFails) throw options.interfaceFails;
        return iface;
      }),
      applyPeers: fromPromise<void, PeerChange>(({ input }) => new Promise<void>((resolve, reject) => applies.push({ change: input, resolve, reject }))),
      watchPeerStats: fromCallback<StatsWatchEvent, StatsWatchInput>(({ sendBack, receive }) => {
        sendStats = sendBack;
        receive((event) => statsPokes.push(event.type));
      }),
    },
  });
  const actor = createActor(machine, { clock, input: { name: "meshPeer", mesh: { machineId: "m1", subnet: "10.210.1.0/24", now: () => clock.now() } } });
  actor.start();
  const stats = (handshakes: Record<string, number | undefined>): WireGuardInterfaceStats => ({
    publicKey: iface.publicKey,
    listenPort: 51820,
    peers: Object.entries(handshakes).map(([key, at]) => ({ publicKey: key, endpoint: undefined, allowedIps: [], latestHandshakeAt: at, rxBytes: 1, txBytes: 2, persistentKeepaliveS: 25 })),
  });
  const linkStates = () => Object.fromEntries(Object.entries(actor.getSnapshot().context.links).map(([id, ref]) => [id, linkState(ref.getSnapshot())]));
  return { actor, clock, watch, applies, stats, linkStates, iface, statsPokes, sendStats: (event: MeshPeerEvent) => sendStats!(event) };
}

describe("meshPeerMachine with WireGuard", () => {
  it("creates the interface, then applies the peers membership asks for, one peer link each", async () => {
    const { actor, watch, applies, linkStates, statsPokes } = startMeshedPeer();
    await flush();
    expect(actor.getSnapshot().value).toEqual({ watching: { connected: "inSync" } });
    expect(applies).toHaveLength(0); // no members yet: nothing to apply

    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m1", 1), aMeshMember("m2", 2), aMeshMember("m3", 3, { state: "removed" })] });
    expect(actor.getSnapshot().value).toEqual({ watching: { connected: "applying" } });
    expect(applies).toHaveLength(1);
    expect(applies[0]!.change.diff.added.map((p) => p.machineId)).toEqual(["m2"]);
    expect(applies[0]!.change.peers.map((p) => p.machineId)).toEqual(["m2"]);
    expect(actor.getSnapshot().context.ignored).toEqual([{ machineId: "m3", reason: "removed from the cluster" }]);
    expect(linkStates()).toEqual({ m2: "configuring" });

    expect(statsPokes).toEqual([]);
    applies[0]!.resolve();
    await flush();
    expect(statsPokes).toEqual(["READ_NOW"]); // the new peer's handshake is read at once, not at the next regular read
    expect(actor.getSnapshot().value).toEqual({ watching: { connected: "inSync" } });
    expect(actor.getSnapshot().context.applied.map((p) => p.machineId)).toEqual(["m2"]);
    expect(actor.getSnapshot().context.applies).toBe(1);
    expect(actor.getSnapshot().context.links.m2!.getSnapshot().context.configuredAt).toBeDefined();
  });

  it("takes membership that changes during an apply once that apply is done, with the latest membership winning", async () => {
    const { actor, watch, applies } = startMeshedPeer();
    await flush();
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2)] });
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2), aMeshMember("m3", 3)] });
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m3", 3), aMeshMember("m4", 4)] });
    expect(applies).toHaveLength(1); // one change at a time
    applies[0]!.resolve();
    await flush();
    expect(applies).toHaveLength(2);
    const second = applies[1]!.change.diff;
    expect(second.added.map((p) => p.machineId)).toEqual(["m3", "m4"]);
    expect(second.removed.map((p) => p.machineId)).toEqual(["m2"]);
    expect(Object.keys(actor.getSnapshot().context.links).sort()).toEqual(["m2", "m3", "m4"]);
    applies[1]!.resolve();
    await flush();
    // The removed peer's link is stopped and gone.
    expect(Object.keys(actor.getSnapshot().context.links).sort()).toEqual(["m3", "m4"]);
    expect(actor.getSnapshot().context.applied.map((p) => p.machineId)).toEqual(["m3", "m4"]);
  });

  it("applies nothing when membership changes only what the interface does not hold", async () => {
    const { actor, watch, applies } = startMeshedPeer();
    await flush();
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2)] });
    applies[0]!.resolve();
    await flush();
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2, { name: "renamed" })] });
    await flush();
    expect(applies).toHaveLength(1);
    expect(actor.getSnapshot().context.applied[0]!.name).toBe("renamed");
  });

  it("tells a changed peer's link to configure again", async () => {
    const { watch, applies, linkStates, sendStats, stats, clock } = startMeshedPeer();
    await flush();
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2)] });
    applies[0]!.resolve();
    await flush();
    sendStats({ type: "PEER_STATS", stats: stats({ [aWireGuardKey(2)]: clock.now() }) });
    expect(linkStates()).toEqual({ m2: "up" });
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2, { wireguard: { publicKey: aWireGuardKey(2), endpoint: "10.213.0.50:51820" } })] });
    expect(applies[1]!.change.diff.changed).toHaveLength(1);
    expect(linkStates()).toEqual({ m2: "configuring" });
  });

  it("follows each peer's handshakes: up, then stale when they stop", async () => {
    const { watch, applies, linkStates, sendStats, stats, clock } = startMeshedPeer();
    await flush();
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2), aMeshMember("m3", 3)] });
    applies[0]!.resolve();
    await flush();
    sendStats({ type: "PEER_STATS", stats: stats({ [aWireGuardKey(2)]: clock.now(), [aWireGuardKey(3)]: undefined }) });
    expect(linkStates()).toEqual({ m2: "up", m3: "configuring" });
    clock.increment(HANDSHAKE_STALE_AFTER_MS);
    expect(linkStates()).toEqual({ m2: "stale", m3: "stale" });
    sendStats({ type: "PEER_STATS", stats: stats({ [aWireGuardKey(2)]: clock.now() - 1_000, [aWireGuardKey(3)]: clock.now() }) });
    expect(linkStates()).toEqual({ m2: "up", m3: "up" });
  });

  it("reports the mesh as an observation: state, interface, each peer's state and handshake age", async () => {
    const { actor, watch, applies, sendStats, stats, clock } = startMeshedPeer();
    await flush();
    watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2), aMeshMember("m9", 9, { wireguard: undefined })] });
    applies[0]!.resolve();
    await flush();
    sendStats({ type: "PEER_STATS", stats: stats({ [aWireGuardKey(2)]: clock.now() - 3_000 }) });
    const observation = meshStatus(actor.getSnapshot(), "m1", clock.now(), new Map([["m2", 0.4]]));
    expect(meshObservationSchema.parse(observation)).toEqual(observation);
    expect(observation).toMatchObject({
      state: "in-sync",
      interface: { name: "plzw1", implementation: "wireguard-go", listenPort: 51820 },
      ignored: [{ machineId: "m9", reason: "no WireGuard key yet" }],
      peers: [{ machine: "m2", state: "up", handshakeAgeMs: 3_000, latencyMs: 0.4, rxBytes: 1, txBytes: 2, endpoint: "10.213.0.3:51820" }],
    });
  });

  it("ends in crashed, naming what failed, when the interface cannot be made, an apply fails or the stats fail", async () => {
    const noInterface = startMeshedPeer({ interfaceFails: new Error("wireguard-go: no TUN") });
    await flush();
    expect(noInterface.actor.getSnapshot().output).toEqual({ error: "WireGuard interface: wireguard-go: no TUN" });
    expect(meshStatus(noInterface.actor.getSnapshot(), "m1", 0)).toMatchObject({ state: "failed", error: "WireGuard interface: wireguard-go: no TUN" });

    const badApply = startMeshedPeer();
    await flush();
    badApply.watch.send!({ type: "MEMBERS", machines: [aMeshMember("m2", 2)] });
    badApply.applies[0]!.reject(new Error("wg set failed"));
    await flush();
    expect(badApply.actor.getSnapshot().output).toEqual({ error: "applying WireGuard peers: wg set failed" });
    expect(badApply.watch.cleanedUp).toBe(1);

    const badStats = startMeshedPeer();
    await flush();
    badStats.sendStats({ type: "STATS_FAILED", reason: "interface plzw1 is gone" });
    expect(badStats.actor.getSnapshot().output).toEqual({ error: "WireGuard stats: interface plzw1 is gone" });
  });
});
