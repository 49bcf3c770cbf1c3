import { vi } from "vitest";

// Colours on, before ink (and its chalk) load: "errors in red" is something to assert.
vi.hoisted(() => {
  process.env.FORCE_COLOR = "1";
});

import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { applyActors, applyAskFailed, applyAsking, applyEvents, applyOverview, emptyTopModel, topView, type TopModel } from "../../model/top-model.ts";
import type { TopState } from "../../runtime/top-feed.ts";
import { ActorList } from "../../tui/top/ActorList.tsx";
import { Header } from "../../tui/top/Header.tsx";
import { listRows } from "../../tui/top/rows.ts";
import { TopApp } from "../../tui/top/TopApp.tsx";
import { TopScreen } from "../../tui/top/TopScreen.tsx";
import { initialUiState, reduceKey, type UiState } from "../../tui/top/ui-state.ts";
import { aMember, anEventBatch, anOverview, aSnapshot, nodeActors } from "../fixtures/top.ts";

const T0 = Date.parse("2026-11-26T12:00:00.000Z");
const ANSI = /\x1b\[[0-9;]*m/g;
const plain = (text: string | undefined) => (text ?? "").replace(ANSI, "");
const lines = (text: string | undefined) => plain(text).split("\n").map((l) => l.trimEnd());
const RED = "\x1b[31m";

/** Two machines: m1 with a failed participant and an api backing off; m2 silent for 12 s. */
function troubledCluster(): TopModel {
  const actors = nodeActors(T0, {
    participant: { state: "failed", restarts: 5, lastError: "crash injected by ployzctl debug crash" },
    api: { state: "backoff", restarts: 1, lastError: "NATS timeout" },
  });
  let model = applyOverview(emptyTopModel, anOverview(T0, { machines: [aMember("m1"), aMember("m2", { storage: false, region: "us" })] }), T0);
  model = applyActors(model, aSnapshot("m2", T0 - 12_000), T0 - 12_000);
  model = applyActors(model, aSnapshot("m1", T0, { actors }), T0);
  return model;
}

/** One machine with a deploy of `demo` in flight, holding its lease. */
function deployingCluster(): TopModel {
  const since = new Date(T0 - 4_000).toISOString();
  const overview = anOverview(T0, {
    namespaces: [
      { name: "demo", authority: "m1", headSeq: 12, headDeployId: "d-11", state: "active" as const, updatedAt: since },
      { name: "shop", authority: "m1", headSeq: 3, headDeployId: "d-2", state: "active" as const, updatedAt: since },
    ],
    leases: [{ key: "deploy.demo", kind: "deploy", name: "demo", holder: "m1", deployId: "d-12", since }],
    deploys: [{ namespace: "demo", deployId: "d-12", machine: "m1", since, phase: { phase: "start", state: "started", at: since } }],
  });
  const actors = [
    ...nodeActors(T0),
    { sessionId: "x:40", id: "x:40", path: "deploy", src: "deploy", chart: "deploy", status: "active", state: "leased.probing", since: T0 - 1_000, lastEvent: "ALL_STARTED" },
  ];
  return applyActors(applyOverview(emptyTopModel, overview, T0), aSnapshot("m1", T0, { actors }), T0);
}

function screen(model: TopModel, ui: UiState = initialUiState, width = 80, height = 23) {
  return render(<TopScreen view={topView(model, T0)} ui={ui} context="dev" width={width} height={height} />);
}

describe("top's components (pure props → frames)", () => {
  it("a cluster with a failed actor: its state, restarts and error, in red", () => {
    const { lastFrame } = screen(troubledCluster());
    const participant = lastFrame()!.split("\n").find((l) => plain(l).includes("├─ participant"))!;
    expect(plain(participant)).toMatch(/├─ participant\s+failed\s+2s\s+5\s+✗ crash injected by ployz…$/);
    expect(participant).toContain(`${RED}failed`);
    expect(participant).toContain(`${RED}✗ crash injected`);
    const api = plain(lastFrame()!.split("\n").find((l) => plain(l).includes("├─ api")));
    expect(api).toMatch(/├─ api\s+backoff\s+2s\s+1\s+✗ NATS timeout/);
    // A healthy actor is not red.
    const inspector = lastFrame()!.split("\n").find((l) => plain(l).includes("├─ inspector"))!;
    expect(inspector).not.toContain(RED);
    expect(plain(inspector)).toMatch(/├─ inspector\s+running\s+1m00s\s+0\s+init/);
  });

  it("an unreachable machine: said so, with the age of its last snapshot, and counted", () => {
    const { lastFrame } = screen(troubledCluster());
    const frame = lines(lastFrame());
    expect(frame[0]).toContain("machines 1/2 reachable, 1 storage");
    expect(frame.find((l) => l.startsWith("■ m2"))).toBe("■ m2 (us) — UNREACHABLE: last snapshot 12s ago");
    expect(frame.find((l) => l.startsWith("■ m1"))).toMatch(/^■ m1 \(eu, storage\) — reachable, snapshot 0ms ago/);
  });

  it("a deploy in flight: in the header with its phase and age, with its lease and the namespaces' head commits", () => {
    const { lastFrame } = screen(deployingCluster(), initialUiState, 120);
    const frame = lines(lastFrame());
    expect(frame[2]).toBe("namespaces demo #12 · shop #3");
    expect(frame[3]).toBe("deploys demo (d-12 on m1, start started, 4s) · migrations none · leases deploy.demo → m1");
    expect(frame.find((l) => l.startsWith("deploy "))).toMatch(/^deploy\s+leased\.probing\s+1s\s+ALL_STARTED/);
  });

  it("an idle cluster says none, honestly", () => {
    const frame = lines(screen(applyOverview(emptyTopModel, anOverview(T0), T0)).lastFrame());
    expect(frame[2]).toBe("namespaces none");
    expect(frame[3]).toBe("deploys none · migrations none · leases none");
    expect(frame.find((l) => l.startsWith("■ m1"))).toBe("■ m1 (eu, storage) — UNREACHABLE: no snapshot since top started");
  });

  it("fits 80×24 exactly, and a narrow 50-column terminal without wrapping", () => {
    for (const [width, height] of [
      [80, 23],
      [50, 15],
      [120, 40],
    ] as const) {
      const frame = lines(screen(troubledCluster(), initialUiState, width, height).lastFrame());
      expect(frame, `${width}×${height}`).toHaveLength(height);
      for (const line of frame) expect([...line].length, `${width}: ${line}`).toBeLessThanOrEqual(width);
      expect(frame.at(-1)).toMatch(/^↑↓\/jk move/);
    }
    const narrow = lines(screen(troubledCluster(), initialUiState, 50, 15).lastFrame());
    expect(narrow.find((l) => l.includes("participant"))).toMatch(/├─ participant\s+failed/);
  });

  it("scrolls a long list to keep the selection in view", () => {
    let model = troubledCluster();
    for (const id of ["m3", "m4", "m5"]) model = applyActors(model, aSnapshot(id, T0), T0);
    const view = topView(model, T0);
    const rows = listRows(view, {});
    const last = rows.filter((r) => r.kind === "actor").at(-1)!;
    const frame = lines(render(<ActorList rows={rows} selected={last.key} width={80} height={12} />).lastFrame());
    expect(frame).toHaveLength(12);
    expect(frame.at(-1)).toMatch(/^\s+└─ child\s+watching/);
    expect(frame.some((l) => l.startsWith("■ m5"))).toBe(true);
    expect(frame.some((l) => l.startsWith("■ m1"))).toBe(false);
  });

  it("the opened actor: its statechart with the current state highlighted, its context and last events", () => {
    let model = troubledCluster();
    model = applyEvents(model, anEventBatch("m1", [{ at: T0 - 2_000, sessionId: "x:1", path: "node/participant", event: "INJECT_CRASH", state: "failed" }]));
    const ui: UiState = { ...initialUiState, mode: "detail", selected: "m1/x:1" };
    const { lastFrame } = screen(model, ui, 80, 40);
    const frame = lines(lastFrame());
    expect(frame[4]).toBe("m1 › node/participant");
    expect(frame[5]).toMatch(/^state failed for 2s · restarts 5 · status active · chart supervisedChild/);
    expect(frame[6]).toBe("error: crash injected by ployzctl debug crash");
    const marked = lastFrame()!.split("\n").filter((l) => plain(l).startsWith("▶"));
    expect(marked.map(plain).map((l) => l.trim())).toEqual(["▶   failed (current)"]);
    expect(marked[0]).toContain("\x1b[43m"); // on a yellow background
    for (const state of ["running (initial)", "backoff", "stopped (final)"]) expect(frame.some((l) => l.trim() === state)).toBe(true);
    expect(frame).toContain('  restarts 5');
    expect(frame).toContain('  lastError "crash injected by ployzctl debug crash"');
    expect(frame).toContain("  11:59:58 INJECT_CRASH → failed");
  });

  it("an actor that runs no statechart says so instead of drawing one", () => {
    const ui: UiState = { ...initialUiState, mode: "detail", selected: "m1/x:2" };
    const frame = lines(screen(applyActors(emptyTopModel, aSnapshot("m1", T0), T0), ui, 80, 30).lastFrame());
    expect(frame).toContain("  none: child is not a state machine (a promise or callback actor)");
  });

  it("an actor of an unreachable machine is shown as its last known state", () => {
    const ui: UiState = { ...initialUiState, mode: "detail", selected: "m2/x:1" };
    const frame = lines(screen(troubledCluster(), ui, 80, 30).lastFrame());
    expect(frame).toContain("machine m2 is unreachable: this is its last known state");
  });

  it("the first frame: a member asked but not answered is waiting (yellow), one with no responder is unreachable with why", () => {
    let model = applyOverview(emptyTopModel, anOverview(T0, { machines: [aMember("m1"), aMember("m2"), aMember("m3")] }), T0);
    model = applyAsking(applyAsking(applyAsking(model, "m1", T0), "m2", T0), "m3", T0);
    model = applyActors(model, aSnapshot("m1", T0), T0);
    model = applyAskFailed(model, "m3", "no responder (its ployzd is down, or runs with --no-inspector)", T0);
    const { lastFrame } = render(<TopScreen view={topView(model, T0)} ui={initialUiState} context="dev" width={120} height={23} />);
    const frame = lines(lastFrame());
    expect(frame[0]).toContain("machines 1/3 reachable, 1 waiting, 3 storage");
    expect(frame.find((l) => l.startsWith("■ m2"))).toBe("■ m2 (eu, storage) — waiting for the first snapshot");
    expect(frame.find((l) => l.startsWith("■ m3"))).toBe("■ m3 (eu, storage) — UNREACHABLE: no responder (its ployzd is down, or runs with --no-inspector)");
    const waiting = lastFrame()!.split("\n").find((l) => plain(l).startsWith("■ m2"))!;
    expect(waiting).toContain("\x1b[33m"); // yellow: not yet known, not red
  });

  it("a finished deploy leaves the tree; the header keeps its outcome under recent", () => {
    const deploy = { sessionId: "x:40", id: "x:40", path: "deploy", src: "deploy", chart: "deploy", since: T0 - 3_000, context: { namespace: "demo", deployId: "d-12" } };
    let model = applyActors(applyOverview(emptyTopModel, anOverview(T0), T0), aSnapshot("m1", T0 - 3_000, { seq: 1, actors: [...nodeActors(T0), { ...deploy, status: "done", state: "done" }] }), T0 - 3_000);
    model = applyActors(model, aSnapshot("m1", T0, { seq: 2 }), T0);
    const frame = lines(screen(model, initialUiState, 120).lastFrame());
    expect(frame[3]).toBe("deploys none · recent demo done 3s ago · migrations none · leases none");
    expect(frame.some((l) => l.startsWith("deploy "))).toBe(false);
  });

  it("the header shows a store that does not answer", () => {
    const model = { ...troubledCluster(), overviewError: { message: "no responders on ployz.api.overview", at: T0 } };
    const frame = lines(render(<Header header={topView(model, T0 + 3_000).header} now={T0 + 3_000} width={100} context="dev" />).lastFrame());
    expect(frame.at(-1)).toBe("store: no responders on ployz.api.overview (showing what was read 3s ago)");
  });
});

describe("top's keys (pure reducer)", () => {
  const view = topView(troubledCluster(), T0);
  const rows = listRows(view, {});
  const machines = view.machines.map((m) => m.id);
  const press = (ui: UiState, input: string, key: Record<string, boolean> = {}) => {
    const result = reduceKey(ui, { input, ...key }, listRows(view, { filter: ui.filter, machine: ui.machine }), machines);
    if (result.type === "quit") return "quit" as const;
    return result.ui;
  };

  it("j/k and arrows move over actors only, stopping at the ends", () => {
    let ui: UiState = initialUiState;
    ui = press(ui, "j") as UiState;
    expect(ui.selected).toBe("m1/x:1");
    ui = press(ui, "", { downArrow: true }) as UiState;
    expect(ui.selected).toBe("m1/x:2");
    ui = press(press(press(ui, "k") as UiState, "k") as UiState, "k") as UiState;
    expect(ui.selected).toBe("m1/x:0");
    ui = press(ui, "G") as UiState;
    expect(ui.selected).toBe(rows.filter((r) => r.kind === "actor").at(-1)!.key);
    expect((press(ui, "j") as UiState).selected).toBe(ui.selected);
  });

  it("enter opens, escape goes back; / filters and q is a letter there; m picks a machine; q quits", () => {
    let ui = press(press(initialUiState, "j") as UiState, "", { return: true }) as UiState;
    expect(ui).toMatchObject({ mode: "detail", selected: "m1/x:1" });
    ui = press(ui, "", { escape: true }) as UiState;
    expect(ui.mode).toBe("list");
    for (const c of "/queue") ui = press(ui, c) as UiState;
    expect(ui).toMatchObject({ mode: "filter", filter: "queue" });
    ui = press(ui, "", { backspace: true }) as UiState;
    ui = press(ui, "", { return: true }) as UiState;
    expect(ui).toMatchObject({ mode: "list", filter: "queu" });
    ui = press(ui, "m") as UiState;
    ui = press(press(ui, "j") as UiState, "j") as UiState;
    ui = press(ui, "", { return: true }) as UiState;
    expect(ui).toMatchObject({ mode: "list", machine: "m2" });
    expect(press(ui, "q")).toBe("quit");
    expect(press({ ...ui, mode: "detail" }, "q")).toBe("quit");
    expect(press(ui, "c", { ctrl: true })).toBe("quit");
  });

  it("the filter keeps matching actors with their ancestors, and machines with a match", () => {
    const filtered = listRows(view, { filter: "crash injected" });
    expect(filtered.map((r) => (r.kind === "machine" ? `# ${r.machine.id}` : r.actor.path))).toEqual(["# m1", "node", "node/participant"]);
    expect(listRows(view, { machine: "m2" }).every((r) => r.machine.id === "m2")).toBe(true);
  });
});

describe("TopApp: one subscription, keys through ink", () => {
  function fakeFeed(model: TopModel) {
    let state: TopState = { model, now: T0 };
    const listeners = new Set<() => void>();
    let subscriptions = 0;
    return {
      feed: {
        getState: () => state,
        subscribe(listener: () => void) {
          subscriptions++;
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      },
      push(next: TopModel, now: number) {
        state = { model: next, now };
        for (const l of listeners) l();
      },
      subscriptions: () => subscriptions,
      listeners: () => listeners.size,
    };
  }
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it("renders from the feed, follows its updates, and opens the selected actor on enter", async () => {
    const fake = fakeFeed(applyActors(emptyTopModel, aSnapshot("m1", T0), T0));
    const app = render(<TopApp feed={fake.feed} context="dev" size={{ columns: 80, rows: 24 }} />);
    expect(lines(app.lastFrame())).toHaveLength(23);
    expect(plain(app.lastFrame())).toMatch(/├─ participant\s+running\s+1m00s\s+0/);
    expect(fake.listeners()).toBe(1);

    // A crash is published: the restart count goes up on screen.
    const crashed = nodeActors(T0 + 2_000, { participant: { restarts: 1, lastEvent: "xstate.after.backoff.supervisedChild.backoff" } });
    fake.push(applyActors(fake.feed.getState().model, aSnapshot("m1", T0 + 2_000, { seq: 2, actors: crashed }), T0 + 2_000), T0 + 2_000);
    await settle();
    expect(plain(app.lastFrame())).toMatch(/├─ participant\s+running\s+1m00s\s+1\s+after\(backoff\)/);

    app.stdin.write("j");
    await settle();
    app.stdin.write("\r");
    await settle();
    const detail = lines(app.lastFrame());
    expect(detail).toContain("m1 › node/participant");
    expect(detail.some((l) => l.startsWith("▶") && l.includes("running (initial, current)"))).toBe(true);

    app.stdin.write("\u001b");
    await settle();
    expect(lines(app.lastFrame()).at(-1)).toMatch(/^↑↓\/jk move/);
    app.unmount();
    expect(fake.listeners()).toBe(0);
    expect(fake.subscriptions()).toBe(1);
  });

  it("keys that arrive together, before a render, are each applied in turn", async () => {
    const fake = fakeFeed(troubledCluster());
    const app = render(<TopApp feed={fake.feed} context="dev" size={{ columns: 80, rows: 24 }} />);
    // One chunk, as a terminal delivers fast typing or a paste.
    app.stdin.write("/api\r");
    await settle();
    const frame = lines(app.lastFrame());
    expect(frame.at(-1)).toMatch(/^filter "api" · /);
    expect(frame.filter((l) => l.includes("participant"))).toEqual([]);
    expect(frame.some((l) => /├─ api/.test(l))).toBe(true);
    app.unmount();
  });
});
