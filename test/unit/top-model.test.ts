import { describe, expect, it } from "vitest";
import {
  applyActors,
  applyAnswer,
  applyAskFailed,
  applyAsking,
  applyEvents,
  applyInvalidMessage,
  applyOverview,
  applyOverviewError,
  emptyTopModel,
  EVENTS_PER_ACTOR,
  formatAge,
  formatEvent,
  machineHealth,
  machinesToAsk,
  STALE_AFTER_MS,
  topView,
} from "../../model/top-model.ts";
import { RECENT_OPERATIONS } from "../../model/recent-operations.ts";
import { aMember, anEventBatch, anOverview, aSnapshot, nodeActors } from "../fixtures/top.ts";

const T0 = Date.parse("2026-11-26T12:00:00.000Z");

describe("TopModel: reachability, from the age of the last snapshot (fake clock)", () => {
  const model = applyOverview(applyActors(emptyTopModel, aSnapshot("m1", T0), T0), anOverview(T0), T0);

  it("a machine is reachable while its last snapshot is at most 5 s old", () => {
    expect(topView(model, T0 + STALE_AFTER_MS).machines[0]).toMatchObject({ id: "m1", reachable: true, lastSnapshotAgeMs: STALE_AFTER_MS });
    expect(topView(model, T0 + STALE_AFTER_MS).header.machines).toEqual({ reachable: 1, waiting: 0, total: 1, storage: 1 });
  });

  it("after that it is unreachable, with the age of its last snapshot, and keeps its last known actors", () => {
    const view = topView(model, T0 + 12_000);
    expect(view.machines[0]).toMatchObject({ id: "m1", reachable: false, lastSnapshotAgeMs: 12_000 });
    expect(view.header.machines).toEqual({ reachable: 0, waiting: 0, total: 1, storage: 1 });
    // Time in state stops at the last snapshot: it is not known to go on.
    expect(view.machines[0]!.actors.find((a) => a.path === "node/api")!.inStateMs).toBe(60_000);
  });

  it("a member that never published is unreachable with no age", () => {
    const two = applyOverview(model, anOverview(T0, { machines: [aMember("m1"), aMember("m2", { storage: false })] }), T0);
    const m2 = topView(two, T0 + 1_000).machines.find((m) => m.id === "m2")!;
    expect(m2).toMatchObject({ member: true, reachable: false, lastSnapshotAgeMs: undefined, actors: [] });
    expect(topView(two, T0 + 1_000).header.machines).toEqual({ reachable: 1, waiting: 0, total: 2, storage: 1 });
  });

  it("a publisher that is not a member is shown, but not counted among the members", () => {
    const stranger = applyActors(model, aSnapshot("ghost", T0), T0);
    const view = topView(stranger, T0 + 1_000);
    expect(view.machines.map((m) => [m.id, m.member, m.reachable])).toEqual([
      ["ghost", false, true],
      ["m1", true, true],
    ]);
    expect(view.header.machines.total).toBe(1);
  });

  it("a new snapshot makes it reachable again", () => {
    const later = applyActors(model, aSnapshot("m1", T0 + 20_000, { seq: 2 }), T0 + 20_000);
    expect(topView(later, T0 + 20_500).machines[0]).toMatchObject({ reachable: true, lastSnapshotAgeMs: 500 });
  });
});

describe("TopModel: the first frame, from asking each member for its actors", () => {
  const two = applyOverview(emptyTopModel, anOverview(T0, { machines: [aMember("m1"), aMember("m2")] }), T0);

  it("asks every member that has no fresh snapshot, once at a time", () => {
    expect(machinesToAsk(two, T0)).toEqual(["m1", "m2"]);
    const asking = applyAsking(applyAsking(two, "m1", T0), "m2", T0);
    expect(machinesToAsk(asking, T0 + 100)).toEqual([]);
    const m1Answered = applyActors(asking, aSnapshot("m1", T0 + 50), T0 + 50);
    const m2Failed = applyAskFailed(m1Answered, "m2", "no responder", T0 + 60);
    // m1 is fresh; m2 failed and is asked again at the next overview.
    expect(machinesToAsk(m2Failed, T0 + 2_000)).toEqual(["m2"]);
    // Once m1's snapshot is stale it is asked again too.
    expect(machinesToAsk(m2Failed, T0 + 50 + STALE_AFTER_MS + 1)).toEqual(["m1", "m2"]);
  });

  it("a member asked but not answered yet is waiting for its first snapshot, not unreachable", () => {
    const view = topView(applyAsking(two, "m2", T0), T0 + 1_000);
    const m2 = view.machines.find((m) => m.id === "m2")!;
    expect(m2).toMatchObject({ liveness: "waiting", reachable: false, unreachableReason: undefined, actors: [] });
    expect(machineHealth(m2)).toBe("waiting for the first snapshot");
    expect(view.header.machines).toEqual({ reachable: 0, waiting: 1, total: 2, storage: 2 });
  });

  it("an answer is a snapshot: live at once, without waiting for the machine to publish", () => {
    const answered = applyActors(applyAsking(two, "m1", T0), aSnapshot("m1", T0 + 5), T0 + 5);
    expect(answered.asks).toEqual({});
    expect(topView(answered, T0 + 10).machines.find((m) => m.id === "m1")).toMatchObject({ liveness: "live", reachable: true, lastSnapshotAgeMs: 5 });
  });

  it("an answer older than a snapshot the machine published meanwhile only ends the question", () => {
    const asking = applyAsking(two, "m1", T0);
    const published = applyActors(asking, aSnapshot("m1", T0 + 20, { seq: 8 }), T0 + 20);
    const late = applyAnswer(published, aSnapshot("m1", T0 + 10, { seq: 7 }), T0 + 30);
    expect(late.snapshots.m1!.message.seq).toBe(8);
    expect(late.asks).toEqual({});
    expect(applyAnswer(asking, aSnapshot("m1", T0 + 10, { seq: 7 }), T0 + 30).snapshots.m1!.message.seq).toBe(7);
  });

  it("a failed ask makes the member unreachable at once, saying why", () => {
    const failed = applyAskFailed(applyAsking(two, "m2", T0), "m2", "no responder: its ployzd is not running", T0 + 1);
    const m2 = topView(failed, T0 + 2).machines.find((m) => m.id === "m2")!;
    expect(m2).toMatchObject({ liveness: "unreachable", unreachableReason: "no responder: its ployzd is not running" });
    expect(machineHealth(m2)).toBe("UNREACHABLE: no responder: its ployzd is not running");
  });

  it("a member that stays silent after being asked is unreachable once the wait is over", () => {
    const asking = applyAsking(two, "m2", T0);
    expect(topView(asking, T0 + STALE_AFTER_MS).machines.find((m) => m.id === "m2")!.liveness).toBe("waiting");
    expect(topView(asking, T0 + STALE_AFTER_MS + 1).machines.find((m) => m.id === "m2")!.liveness).toBe("unreachable");
  });

  it("a machine that was live and went silent is unreachable with the age of its snapshot, whatever the ask says", () => {
    const stale = applyAsking(applyActors(two, aSnapshot("m1", T0), T0), "m1", T0 + 6_000);
    const m1 = topView(stale, T0 + 6_500).machines.find((m) => m.id === "m1")!;
    expect(m1).toMatchObject({ liveness: "unreachable", lastSnapshotAgeMs: 6_500 });
    expect(machineHealth(m1)).toBe("UNREACHABLE: last snapshot 6s ago");
  });
});

describe("TopModel: finished operations", () => {
  const deploy = (sessionId: string, deployId: string, state: string, status: string, since: number) => ({
    sessionId,
    id: sessionId,
    path: "deploy",
    src: "deploy",
    chart: "deploy",
    status,
    state,
    since,
    context: { deployId, namespace: "demo", preview: false },
  });

  it("a deploy coordinator seen finished is kept in the header's recent operations after it leaves the tree", () => {
    let model = applyActors(emptyTopModel, aSnapshot("m1", T0, { seq: 1, actors: [...nodeActors(T0), deploy("x:40", "d-1", "leased.probing", "active", T0 - 1_000)] }), T0);
    expect(topView(model, T0).header.recent).toEqual([]);
    // Its machine's clock runs 10 s ahead: the ages come from the machine's own clock.
    model = applyActors(model, aSnapshot("m1", T0 + 12_000, { seq: 2, actors: [...nodeActors(T0 + 12_000), deploy("x:40", "d-1", "done", "done", T0 + 10_000)] }), T0 + 2_000);
    model = applyActors(model, aSnapshot("m1", T0 + 20_000, { seq: 3 }), T0 + 10_000);
    const view = topView(model, T0 + 13_000);
    expect(view.machines[0]!.actors.some((a) => a.path === "deploy")).toBe(false);
    expect(view.header.recent).toEqual([expect.objectContaining({ machine: "m1", kind: "deploy", namespace: "demo", id: "d-1", outcome: "done", agoMs: 13_000 })]);
  });

  it("counts each operation once, newest first, and keeps only the last few", () => {
    let model = emptyTopModel;
    for (let i = 1; i <= RECENT_OPERATIONS + 2; i++) {
      const actors = [...nodeActors(T0), deploy(`x:${100 + i}`, `d-${i}`, i % 2 ? "done" : "failed", "done", T0 + i * 1_000)];
      model = applyActors(model, aSnapshot("m1", T0 + i * 1_000, { seq: i, actors }), T0 + i * 1_000);
      model = applyActors(model, aSnapshot("m1", T0 + i * 1_000 + 100, { seq: i + 100, actors }), T0 + i * 1_000 + 100);
    }
    const recent = topView(model, T0 + 60_000).header.recent;
    expect(recent.map((op) => op.id)).toEqual(["d-7", "d-6", "d-5", "d-4", "d-3"]);
    expect(recent.map((op) => op.outcome)).toEqual(["done", "failed", "done", "failed", "done"]);
  });

  it("the node's own tree and its supervised children are not operations", () => {
    const actors = nodeActors(T0).map((a) => (a.path === "node/api" ? { ...a, status: "stopped" } : a));
    expect(applyActors(emptyTopModel, aSnapshot("m1", T0, { actors }), T0).recent).toEqual([]);
  });
});

describe("TopModel: the actor tree", () => {
  it("orders children by creation and draws the tree", () => {
    const view = topView(applyActors(emptyTopModel, aSnapshot("m1", T0), T0), T0);
    expect(view.machines[0]!.actors.map((a) => `${a.prefix}${a.name}`)).toEqual([
      "node",
      "├─ participant",
      "│  └─ child",
      "├─ api",
      "│  └─ child",
      "├─ inspector",
      "│  └─ child",
      "└─ meshPeer",
      "   └─ child",
    ]);
  });

  it("time in state grows with the clock while the machine is reachable, measured on the machine's own clock", () => {
    // The machine's clock is 10 minutes ahead of ours: only differences of its own clock count.
    const skewed = aSnapshot("m1", T0 + 600_000);
    const model = applyActors(emptyTopModel, skewed, T0);
    expect(topView(model, T0 + 3_000).machines[0]!.actors[1]).toMatchObject({ name: "participant", inStateMs: 63_000 });
  });

  it("shows restarts, and a failed actor's error with severity error; backoff is a warning", () => {
    const actors = nodeActors(T0, {
      participant: { state: "failed", restarts: 5, lastError: "crash injected by ployzctl debug crash" },
      api: { state: "backoff", restarts: 2, lastError: "boom" },
      meshPeer: { restarts: 1, lastError: "old trouble" },
    });
    const rows = topView(applyActors(emptyTopModel, aSnapshot("m1", T0, { actors }), T0), T0).machines[0]!.actors;
    expect(rows.find((a) => a.name === "participant")).toMatchObject({ state: "failed", restarts: 5, severity: "error", error: "crash injected by ployzctl debug crash", inStateMs: 2_000 });
    expect(rows.find((a) => a.name === "api")).toMatchObject({ state: "backoff", restarts: 2, severity: "warn", error: "boom" });
    // Running again: the last error is history, not an error now.
    expect(rows.find((a) => a.name === "meshPeer")).toMatchObject({ state: "running", restarts: 1, severity: "ok", error: undefined });
  });

  it("an actor whose snapshot is in error is red whatever its state", () => {
    const actors = nodeActors(T0);
    actors[2] = { ...actors[2]!, status: "error", error: "NATS connection closed" };
    const child = topView(applyActors(emptyTopModel, aSnapshot("m1", T0, { actors }), T0), T0).machines[0]!.actors[2]!;
    expect(child).toMatchObject({ path: "node/participant/child", severity: "error", error: "NATS connection closed" });
  });

  it("names an actor whose id XState made up after what it runs", () => {
    const actors = [...nodeActors(T0), { sessionId: "x:99", id: "0.node.registering", path: "node/0.node.registering", parent: "x:0", src: "registerMachine", status: "done", since: T0 }];
    const names = topView(applyActors(emptyTopModel, aSnapshot("m1", T0, { actors }), T0), T0).machines[0]!.actors.map((a) => a.name);
    expect(names).toContain("registerMachine");
    expect(names).not.toContain("0.node.registering");
  });
});

describe("TopModel: events", () => {
  const base = applyActors(emptyTopModel, aSnapshot("m1", T0, { seq: 5 }), T0);
  const event = (i: number, sessionId = "x:1") => ({ at: T0 + i, sessionId, path: "node/participant", event: `E${i}`, state: "running" });

  it("keeps the last few events per actor and counts what the machine dropped", () => {
    let model = applyEvents(base, anEventBatch("m1", Array.from({ length: 8 }, (_, i) => event(i))));
    model = applyEvents(model, anEventBatch("m1", Array.from({ length: 8 }, (_, i) => event(8 + i)), 3));
    const participant = topView(model, T0).machines[0]!.actors.find((a) => a.name === "participant")!;
    expect(participant.events.map((e) => e.event)).toEqual(Array.from({ length: EVENTS_PER_ACTOR }, (_, i) => `E${16 - EVENTS_PER_ACTOR + i}`));
    expect(topView(model, T0).header.droppedEvents).toBe(3);
  });

  it("forgets the events of actors that are gone, and all of a machine's events when its ployzd restarted", () => {
    let model = applyEvents(base, anEventBatch("m1", [event(1, "x:1"), event(2, "x:77")]));
    model = applyActors(model, aSnapshot("m1", T0 + 100, { seq: 6 }), T0 + 100);
    expect(Object.keys(model.events.m1!)).toEqual(["x:1"]);
    // seq went down: a new process, whose x:1 is another actor.
    model = applyActors(model, aSnapshot("m1", T0 + 200, { seq: 1 }), T0 + 200);
    expect(model.events.m1).toEqual({});
  });
});

describe("TopModel: header", () => {
  it("shows namespaces with head commits, deploys in flight and leases; migrations do not exist yet", () => {
    const overview = anOverview(T0, {
      namespaces: [{ name: "demo", authority: "m1", headSeq: 12, headDeployId: "d-11", state: "active" as const, updatedAt: "" }],
      leases: [{ key: "deploy.demo", kind: "deploy", name: "demo", holder: "m1", deployId: "d-12", since: new Date(T0 - 4_000).toISOString() }],
      deploys: [{ namespace: "demo", deployId: "d-12", machine: "m1", since: new Date(T0 - 4_000).toISOString(), phase: { phase: "start", state: "started", at: "" } }],
    });
    const header = topView(applyOverview(emptyTopModel, overview, T0), T0 + 1_000).header;
    expect(header.namespaces).toEqual([{ name: "demo", headSeq: 12, headDeployId: "d-11", authority: "m1" }]);
    expect(header.deploys).toHaveLength(1);
    expect(header.leases.map((l) => l.key)).toEqual(["deploy.demo"]);
    expect(header.migrations).toEqual({ supported: false, inFlight: 0 });
    expect(header.overviewAgeMs).toBe(1_000);
  });

  it("keeps the last overview when reading it fails, and says so until a read succeeds", () => {
    let model = applyOverview(emptyTopModel, anOverview(T0), T0);
    model = applyOverviewError(model, "no responders", T0 + 2_000);
    let header = topView(model, T0 + 3_000).header;
    expect(header).toMatchObject({ overviewError: "no responders", overviewAgeMs: 3_000 });
    expect(header.regions.map((r) => r.name)).toEqual(["eu"]);
    model = applyOverview(model, anOverview(T0 + 4_000), T0 + 4_000);
    header = topView(model, T0 + 4_000).header;
    expect(header.overviewError).toBeUndefined();
  });

  it("counts messages that did not parse", () => {
    expect(topView(applyInvalidMessage(applyInvalidMessage(emptyTopModel)), T0).header.invalidMessages).toBe(2);
  });

  it("never changes the model it was given", () => {
    const before = applyActors(emptyTopModel, aSnapshot("m1", T0), T0);
    const frozen = JSON.stringify(before);
    applyEvents(before, anEventBatch("m1", [{ at: T0, sessionId: "x:1", path: "p", event: "E" }]));
    applyActors(before, aSnapshot("m2", T0), T0);
    applyOverview(before, anOverview(T0), T0);
    applyAsking(before, "m2", T0);
    applyAskFailed(before, "m2", "no responder", T0);
    expect(JSON.stringify(before)).toBe(frozen);
    expect(JSON.stringify(emptyTopModel)).toBe(JSON.stringify({ snapshots: {}, events: {}, droppedEvents: 0, invalidMessages: 0, asks: {}, recent: [] }));
  });
});

describe("formatting", () => {
  it("ages are short", () => {
    expect([850, 12_400, 245_000, 3 * 3_600_000 + 12 * 60_000, 50 * 3_600_000].map(formatAge)).toEqual(["850ms", "12s", "4m05s", "3h12m", "2d02h"]);
  });

  it("XState's internal events are made readable, others are kept", () => {
    expect(
      ["xstate.done.actor.0.node.registering", "xstate.error.actor.child", "xstate.after.backoff.supervisedChild.backoff", "xstate.init", "xstate.promise.resolve", "INJECT_CRASH"].map(formatEvent),
    ).toEqual(["done(registering)", "error(child)", "after(backoff)", "init", "resolved", "INJECT_CRASH"]);
  });
});
