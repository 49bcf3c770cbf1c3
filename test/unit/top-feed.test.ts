import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ActorEventsMessage } from "../../model/actor-events.ts";
import type { ActorSnapshotMessage } from "../../model/actor-table.ts";
import type { Overview } from "../../model/overview.ts";
import { topView } from "../../model/top-model.ts";
import { NoResponderError, RequestTimeoutError } from "../../model/errors.ts";
import type { PloyzClient, WatchLiveOptions } from "../../runtime/client.ts";
import { collectTopOnce, startTopFeed } from "../../runtime/top-feed.ts";
import { aMember, anEventBatch, anOverview, aSnapshot } from "../fixtures/top.ts";

const T0 = Date.parse("2026-11-26T12:00:00.000Z");

/** A client with no NATS behind it: the test publishes, and counts what the feed asks. */
function fakeClient(overview: () => Promise<Overview>, actors: (machine: string) => Promise<ActorSnapshotMessage> = () => new Promise(() => {})) {
  const asked: string[] = [];
  const actorWatchers = new Set<{ fn: (m: ActorSnapshotMessage) => void; options: WatchLiveOptions }>();
  const eventWatchers = new Set<(m: ActorEventsMessage) => void>();
  let overviewCalls = 0;
  const client = {
    context: { name: "dev" },
    overview: () => {
      overviewCalls++;
      return overview();
    },
    actors: (machine: string) => {
      asked.push(machine);
      return actors(machine);
    },
    watchActors(fn: (m: ActorSnapshotMessage) => void, options: WatchLiveOptions = {}) {
      const entry = { fn, options };
      actorWatchers.add(entry);
      return () => actorWatchers.delete(entry);
    },
    watchEvents(fn: (m: ActorEventsMessage) => void) {
      eventWatchers.add(fn);
      return () => eventWatchers.delete(fn);
    },
  };
  return {
    client: client as unknown as PloyzClient,
    publish: (m: ActorSnapshotMessage) => actorWatchers.forEach((w) => w.fn(m)),
    publishEvents: (m: ActorEventsMessage) => eventWatchers.forEach((w) => w(m)),
    invalid: () => actorWatchers.forEach((w) => w.options.onInvalid?.("ployz.actors.bad", "not JSON")),
    overviewCalls: () => overviewCalls,
    asked: () => [...asked],
    watchers: () => actorWatchers.size + eventWatchers.size,
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the top feed (fake clock, fake client)", () => {
  it("a burst of snapshots reaches the screen at most four times a second, ending with the newest", async () => {
    const fake = fakeClient(async () => anOverview(Date.now()));
    const feed = startTopFeed(fake.client, { tickMs: 60_000 });
    let renders = 0;
    feed.subscribe(() => renders++);
    await vi.advanceTimersByTimeAsync(0);
    renders = 0;
    for (let i = 1; i <= 100; i++) {
      fake.publish(aSnapshot("m1", Date.now(), { seq: i }));
      await vi.advanceTimersByTimeAsync(10); // 100 snapshots over one second
    }
    await vi.advanceTimersByTimeAsync(250);
    expect(renders).toBeGreaterThanOrEqual(4);
    expect(renders).toBeLessThanOrEqual(5);
    expect(feed.getState().model.snapshots.m1!.message.seq).toBe(100);
    feed.close();
  });

  it("with nothing new, a tick still moves the clock on, so a silent machine turns unreachable", async () => {
    const fake = fakeClient(async () => anOverview(Date.now()));
    const feed = startTopFeed(fake.client, { overviewEveryMs: 60_000 });
    fake.publish(aSnapshot("m1", Date.now()));
    await vi.advanceTimersByTimeAsync(1_000);
    let state = feed.getState();
    expect(topView(state.model, state.now).machines[0]!.reachable).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    state = feed.getState();
    expect(state.now).toBe(T0 + 6_000);
    expect(topView(state.model, state.now).machines[0]).toMatchObject({ reachable: false, lastSnapshotAgeMs: 6_000 });
    feed.close();
  });

  it("reads the overview every 2 s, keeps the last one when a read fails, and counts bad messages", async () => {
    let fail = false;
    const fake = fakeClient(async () => {
      if (fail) throw new Error("no responders");
      return anOverview(Date.now(), { machines: [aMember("m1"), aMember("m2")] });
    });
    const feed = startTopFeed(fake.client);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(fake.overviewCalls()).toBe(4); // at 0, 2, 4 and 6 s
    fail = true;
    fake.invalid();
    // The read at 8 s fails; the screen hears of it at the next allowed render (≤ 250 ms later).
    await vi.advanceTimersByTimeAsync(2_250);
    const { model } = feed.getState();
    expect(model.overviewError?.message).toBe("no responders");
    expect(model.overview?.value.machines.map((m) => m.id)).toEqual(["m1", "m2"]);
    expect(model.invalidMessages).toBe(1);
    feed.close();
  });

  it("keeps the events of each actor", async () => {
    const fake = fakeClient(async () => anOverview(Date.now()));
    const feed = startTopFeed(fake.client);
    fake.publish(aSnapshot("m1", Date.now()));
    fake.publishEvents(anEventBatch("m1", [{ at: T0, sessionId: "x:1", path: "node/participant", event: "INJECT_CRASH", state: "backoff" }], 2));
    await vi.advanceTimersByTimeAsync(300);
    expect(feed.getState().model.events.m1!["x:1"]!.map((e) => e.event)).toEqual(["INJECT_CRASH"]);
    expect(feed.getState().model.droppedEvents).toBe(2);
    feed.close();
  });

  it("close() unsubscribes and stops every timer: nothing is asked or heard afterwards", async () => {
    const fake = fakeClient(async () => anOverview(Date.now()));
    const feed = startTopFeed(fake.client);
    let renders = 0;
    feed.subscribe(() => renders++);
    await vi.advanceTimersByTimeAsync(100);
    expect(fake.watchers()).toBe(2);
    feed.close();
    const calls = fake.overviewCalls();
    renders = 0;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.watchers()).toBe(0);
    expect(fake.overviewCalls()).toBe(calls);
    expect(renders).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("the top feed's first frame", () => {
  it("asks every member for its actors at once: an answer is live before anything is published, no responder is unreachable with why, silence is waiting", async () => {
    const fake = fakeClient(
      async () => anOverview(Date.now(), { machines: [aMember("m1"), aMember("m2"), aMember("m3")] }),
      async (machine) => {
        if (machine === "m1") return aSnapshot("m1", Date.now());
        if (machine === "m2") throw new NoResponderError("no responder for ployz.inspector.m2.actors");
        return await new Promise<never>(() => {}); // m3 is slow to answer
      },
    );
    const feed = startTopFeed(fake.client, { overviewEveryMs: 60_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.asked()).toEqual(["m1", "m2", "m3"]);
    // The first frame, drawn with the membership: every member asked, none yet called unreachable.
    const first = feed.getState();
    expect(topView(first.model, first.now).machines.map((m) => m.liveness)).toEqual(["waiting", "waiting", "waiting"]);
    // The answers, at the next render allowed (≤ 250 ms later).
    await vi.advanceTimersByTimeAsync(250);
    const state = feed.getState();
    const view = topView(state.model, state.now);
    expect(state.now).toBe(T0 + 250);
    expect(view.machines.map((m) => [m.id, m.liveness])).toEqual([
      ["m1", "live"],
      ["m2", "unreachable"],
      ["m3", "waiting"],
    ]);
    expect(view.machines[1]!.unreachableReason).toMatch(/^no responder \(its ployzd is down/);
    expect(view.machines[0]!.actors.length).toBeGreaterThan(0);
    // m3 never answers: after the wait it is unreachable, not waiting forever.
    await vi.advanceTimersByTimeAsync(6_000);
    const later = feed.getState();
    expect(topView(later.model, later.now).machines[2]!.liveness).toBe("unreachable");
    feed.close();
  });

  it("asks a machine again once its snapshots went stale, and only the one it watches with --machine", async () => {
    const fake = fakeClient(
      async () => anOverview(Date.now(), { machines: [aMember("m1"), aMember("m2")] }),
      async (machine) => aSnapshot(machine, Date.now(), { seq: Date.now() }),
    );
    const feed = startTopFeed(fake.client, { machine: "m2" });
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.asked()).toEqual(["m2"]);
    await vi.advanceTimersByTimeAsync(4_000); // overviews at 2 and 4 s: m2's answer is fresh
    expect(fake.asked()).toEqual(["m2"]);
    await vi.advanceTimersByTimeAsync(2_000); // at 6 s it is 6 s old
    expect(fake.asked()).toEqual(["m2", "m2"]);
    feed.close();
  });
});

describe("collectTopOnce", () => {
  it("asks every member at once and returns with their answers, subscribing to nothing", async () => {
    const fake = fakeClient(
      async () => anOverview(Date.now(), { machines: [aMember("m1"), aMember("m2")] }),
      async (machine) => aSnapshot(machine, Date.now()),
    );
    const state = await collectTopOnce(fake.client);
    expect(fake.asked()).toEqual(["m1", "m2"]);
    expect(state.now).toBe(T0);
    expect(topView(state.model, state.now).machines.map((m) => m.liveness)).toEqual(["live", "live"]);
    expect(fake.watchers()).toBe(0);
  });

  it("shows a member that cannot answer as unreachable, with why, without waiting for a heartbeat", async () => {
    const fake = fakeClient(
      async () => anOverview(Date.now(), { machines: [aMember("m1"), aMember("m2"), aMember("m3")] }),
      async (machine) => {
        if (machine === "m2") throw new NoResponderError("no responder");
        if (machine === "m3") throw new RequestTimeoutError("the inspector of machine m3 did not answer within 2000 ms");
        return aSnapshot(machine, Date.now());
      },
    );
    const state = await collectTopOnce(fake.client);
    const view = topView(state.model, state.now);
    expect(view.machines.map((m) => [m.id, m.liveness, m.unreachableReason])).toEqual([
      ["m1", "live", undefined],
      ["m2", "unreachable", "no responder (its ployzd is down, or runs with --no-inspector)"],
      ["m3", "unreachable", "asked for its actors: no answer within 2 s"],
    ]);
    expect(view.header.machines).toMatchObject({ reachable: 1, waiting: 0, total: 3 });
  });

  it("with --machine asks only that machine, and says when the store cannot be read", async () => {
    const fake = fakeClient(
      async () => {
        throw new Error("no responders for ployz.api.overview");
      },
      async (machine) => aSnapshot(machine, Date.now()),
    );
    const state = await collectTopOnce(fake.client, { machine: "m2" });
    expect(fake.asked()).toEqual(["m2"]);
    expect(state.model.overviewError?.message).toBe("no responders for ployz.api.overview");
    expect(topView(state.model, state.now).machines.map((m) => [m.id, m.liveness])).toEqual([["m2", "live"]]);
  });
});
