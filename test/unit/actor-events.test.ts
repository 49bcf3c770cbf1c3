import { createActor, createMachine, fromPromise, setup, type InspectionEvent } from "xstate";
import { describe, expect, it } from "vitest";
import { ActorEventQueue, actorEventsMessageSchema } from "../../model/actor-events.ts";
import { ActorTable } from "../../model/actor-table.ts";
import { toInspectionRecord } from "../../runtime/inspection.ts";

const event = (at: number, name = "E") => ({ at, sessionId: "x:1", path: "node/api", event: name });

describe("ActorEventQueue: at most N events a second, the rest counted", () => {
  it("lets a burst of N through, drops and counts the rest", () => {
    const queue = new ActorEventQueue(10);
    const kept = Array.from({ length: 25 }, (_, i) => queue.push(event(1_000, `E${i}`)));
    expect(kept.filter(Boolean)).toHaveLength(10);
    const taken = queue.take();
    expect(taken.events.map((e) => e.event)).toEqual(Array.from({ length: 10 }, (_, i) => `E${i}`));
    expect(taken.dropped).toBe(15);
    expect(queue.take()).toEqual({ events: [], dropped: 0 });
  });

  it("refills with the events' own clock: one more every 1/N s, never more than N banked", () => {
    const queue = new ActorEventQueue(10);
    for (let i = 0; i < 10; i++) queue.push(event(0));
    expect(queue.push(event(50))).toBe(false); // half a token
    expect(queue.push(event(100))).toBe(true); // 0.5 + 0.5
    expect(queue.push(event(100))).toBe(false);
    queue.take();
    // A long quiet spell banks N tokens, not more.
    const kept = Array.from({ length: 30 }, () => queue.push(event(60_000))).filter(Boolean);
    expect(kept).toHaveLength(10);
  });

  it("keeps at most four seconds' worth when nobody takes, newest kept, the rest counted", () => {
    const queue = new ActorEventQueue(10);
    for (let s = 0; s < 10; s++) for (let i = 0; i < 10; i++) queue.push(event(s * 1_000, `E${s}.${i}`));
    const taken = queue.take();
    expect(taken.events).toHaveLength(40);
    expect(taken.events[0]!.event).toBe("E6.0");
    expect(taken.dropped).toBe(60);
  });
});

describe("ActorTable change detection (field by field)", () => {
  const table = () => {
    const t = new ActorTable();
    t.apply({ kind: "actor", at: 0, sessionId: "x:1", id: "api", src: "api" });
    t.apply({ kind: "snapshot", at: 1, sessionId: "x:1", status: "active", stateValue: "running", context: { restarts: 0, name: "api" } });
    return t;
  };

  it("a changed context value is a change; the same context again is not, and keeps `since`", () => {
    const t = table();
    expect(t.apply({ kind: "snapshot", at: 2, sessionId: "x:1", status: "active", stateValue: "running", context: { name: "api", restarts: 0 } })).toBe(false);
    expect(t.apply({ kind: "snapshot", at: 3, sessionId: "x:1", status: "active", stateValue: "running", context: { restarts: 1, name: "api" } })).toBe(true);
    expect(t.list()[0]).toMatchObject({ context: { restarts: 1, name: "api" }, since: 1 });
    expect(t.apply({ kind: "snapshot", at: 4, sessionId: "x:1", status: "active", stateValue: "running", context: { restarts: 1 } })).toBe(true);
    expect(t.list()[0]!.context).toEqual({ restarts: 1 });
  });

  it("a new state moves `since`; an error or a new event is a change", () => {
    const t = table();
    expect(t.apply({ kind: "snapshot", at: 5, sessionId: "x:1", status: "active", stateValue: "backoff" })).toBe(true);
    expect(t.list()[0]).toMatchObject({ state: "backoff", since: 5 });
    expect(t.apply({ kind: "snapshot", at: 6, sessionId: "x:1", status: "active", stateValue: "backoff", eventType: "TICK" })).toBe(true);
    expect(t.apply({ kind: "snapshot", at: 7, sessionId: "x:1", status: "active", stateValue: "backoff", eventType: "TICK" })).toBe(false);
    expect(t.apply({ kind: "snapshot", at: 8, sessionId: "x:1", status: "error", stateValue: "backoff", error: new Error("boom") })).toBe(true);
    expect(t.list()[0]).toMatchObject({ status: "error", error: "boom", since: 8 });
  });
});

describe("inspection → ActorTable → events", () => {
  const child = setup({}).createMachine({ id: "childChart", initial: "a", states: { a: { on: { GO: "b" } }, b: {} } });
  const root = setup({ actors: { child, work: fromPromise(async () => 1) } }).createMachine({
    id: "rootChart",
    invoke: [{ id: "kid", src: "child" }, { src: "work" }],
  });

  function run() {
    const table = new ActorTable();
    const events: InspectionEvent[] = [];
    const actor = createActor(root, {
      inspect: (e) => {
        events.push(e);
        const record = toInspectionRecord(e, 1_000);
        if (record) table.apply(record);
      },
    });
    actor.start();
    return { table, actor };
  }

  it("names each actor's statechart; a root is named after it, a promise actor has none", () => {
    const { table, actor } = run();
    const list = table.list();
    expect(list.find((e) => !e.parent)).toMatchObject({ id: "rootChart", path: "rootChart", chart: "rootChart" });
    expect(list.find((e) => e.id === "kid")).toMatchObject({ chart: "childChart", path: "rootChart/kid", state: "a" });
    const work = list.find((e) => e.src === "work")!;
    expect(work).not.toHaveProperty("chart");
    actor.stop();
  });

  it("queues every processed event with the state it left", () => {
    const { table, actor } = run();
    table.events.take();
    actor.getSnapshot().children.kid!.send({ type: "GO" });
    const { events } = table.events.take();
    expect(events).toEqual([expect.objectContaining({ path: "rootChart/kid", event: "GO", state: "b" })]);
    expect(actorEventsMessageSchema.parse({ type: "events", machine: "m1", at: "x", seq: 1, events, dropped: 0 }).events).toHaveLength(1);
    actor.stop();
  });

  it("a plain createMachine without setup is still recognised as a statechart", () => {
    const table = new ActorTable();
    const actor = createActor(createMachine({ id: "plain", initial: "idle", states: { idle: {} } }), {
      inspect: (e) => {
        const record = toInspectionRecord(e, 0);
        if (record) table.apply(record);
      },
    });
    actor.start();
    expect(table.list()[0]).toMatchObject({ id: "plain", chart: "plain", state: "idle" });
    actor.stop();
  });
});
