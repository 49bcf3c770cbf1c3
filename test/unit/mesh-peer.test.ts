import { describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, SimulatedClock } from "xstate";
import { meshPeerMachine, type MeshPeerEvent } from "../../machines/mesh-peer.ts";
import { supervisedChildMachine } from "../../machines/supervised-child.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { aMachine } from "../fixtures/machines.ts";

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

/** A meshPeer whose watch is driven by the test and whose applyPeers is recorded. */
function startMeshPeer(options: { watchThrows?: Error } = {}) {
  const applied: MachineRecord[][] = [];
  const { watch, logic } = recordingWatch(options.watchThrows ? { throws: options.watchThrows } : {});
  const machine = meshPeerMachine.provide({
    actors: { watchMachines: logic },
    actions: {
      applyPeers: (_, params) => {
        applied.push(params.machines);
      },
    },
  });
  const actor = createActor(machine, { input: { name: "meshPeer" } });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { actor, applied, watch, errors };
}

describe("meshPeerMachine", () => {
  it("starts watching membership with nothing applied yet", () => {
    const { actor, applied, watch } = startMeshPeer();
    expect(actor.getSnapshot().value).toBe("watching");
    expect(actor.getSnapshot().context).toEqual({ members: [], updates: 0 });
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
