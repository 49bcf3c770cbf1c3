import { describe, expect, it } from "vitest";
import {
  ActorTable,
  actorSnapshotMessageSchema,
  formatStateValue,
  summarizeContext,
  type InspectionRecord,
} from "../../model/actor-table.ts";

function actor(sessionId: string, id: string, at: number, parentSessionId?: string): InspectionRecord {
  return { kind: "actor", at, sessionId, id, src: id, ...(parentSessionId ? { parentSessionId } : {}) };
}

function snapshot(sessionId: string, at: number, fields: Partial<Extract<InspectionRecord, { kind: "snapshot" }>> = {}): InspectionRecord {
  return { kind: "snapshot", at, sessionId, status: "active", ...fields };
}

/** node → participant (supervisor) → child, as the node system spawns them. */
function nodeTree() {
  const table = new ActorTable();
  table.apply(actor("x:0", "node", 1_000));
  table.apply(actor("x:1", "participant", 1_001, "x:0"));
  table.apply(actor("x:2", "child", 1_002, "x:1"));
  return table;
}

const entry = (table: ActorTable, sessionId: string) => table.list().find((e) => e.sessionId === sessionId);

describe("ActorTable", () => {
  describe("paths", () => {
    it("builds each actor's path from its parents' sessions", () => {
      const table = nodeTree();
      expect(table.list().map((e) => [e.path, e.parent])).toEqual([
        ["node", undefined],
        ["node/participant", "x:0"],
        ["node/participant/child", "x:1"],
      ]);
    });

    it("treats an actor whose parent it never saw as a root", () => {
      const table = new ActorTable();
      table.apply(actor("x:9", "orphan", 5, "x:unknown"));
      expect(entry(table, "x:9")).toMatchObject({ path: "orphan" });
      expect(entry(table, "x:9")).not.toHaveProperty("parent");
    });

    it("lists entries sorted by path, without internal bookkeeping, valid for publishing", () => {
      const table = new ActorTable();
      table.apply(actor("x:0", "node", 1));
      table.apply(actor("x:3", "meshPeer", 2, "x:0"));
      table.apply(actor("x:1", "api", 3, "x:0"));
      const list = table.list();
      expect(list.map((e) => e.path)).toEqual(["node", "node/api", "node/meshPeer"]);
      for (const e of list) expect(Object.keys(e)).not.toContain("parentSession");
      const message = { type: "actors", machine: "m1", at: new Date(0).toISOString(), seq: 1, actors: list };
      expect(actorSnapshotMessageSchema.parse(message)).toEqual(message);
    });
  });

  describe("state, status, since and last event", () => {
    it("starts an actor as active since it was seen", () => {
      const table = nodeTree();
      expect(entry(table, "x:1")).toMatchObject({ id: "participant", src: "participant", status: "active", since: 1_001 });
      expect(entry(table, "x:1")).not.toHaveProperty("state");
    });

    it("tracks the state and moves `since` only when state or status changes", () => {
      const table = nodeTree();
      table.apply(snapshot("x:1", 2_000, { stateValue: "running", eventType: "xstate.init" }));
      expect(entry(table, "x:1")).toMatchObject({ state: "running", since: 2_000, lastEvent: "xstate.init" });

      table.apply(snapshot("x:1", 3_000, { stateValue: "running", eventType: "PING" }));
      expect(entry(table, "x:1")).toMatchObject({ state: "running", since: 2_000, lastEvent: "PING" });

      table.apply(snapshot("x:1", 4_000, { stateValue: "backoff", eventType: "INJECT_CRASH" }));
      expect(entry(table, "x:1")).toMatchObject({ state: "backoff", since: 4_000, lastEvent: "INJECT_CRASH" });

      table.apply(snapshot("x:1", 5_000, { stateValue: "backoff", status: "error", error: new Error("boom") }));
      expect(entry(table, "x:1")).toMatchObject({ state: "backoff", status: "error", since: 5_000, error: "boom" });
    });

    it("records a non-Error error as text", () => {
      const table = nodeTree();
      table.apply(snapshot("x:2", 2_000, { status: "error", error: "disk full" }));
      expect(entry(table, "x:2")?.error).toBe("disk full");
    });

    it("records the last event sent to an actor, but not XState's internal events", () => {
      const table = nodeTree();
      expect(table.apply({ kind: "event", at: 2_000, targetSessionId: "x:1", eventType: "INJECT_CRASH" })).toBe(true);
      expect(entry(table, "x:1")?.lastEvent).toBe("INJECT_CRASH");
      expect(table.apply({ kind: "event", at: 2_001, targetSessionId: "x:1", eventType: "xstate.done.actor.child" })).toBe(false);
      expect(entry(table, "x:1")?.lastEvent).toBe("INJECT_CRASH");
    });
  });

  describe("context", () => {
    it("keeps scalars, counts arrays, and leaves out objects and functions", () => {
      const table = nodeTree();
      table.apply(
        snapshot("x:1", 2_000, {
          stateValue: "running",
          context: {
            name: "participant",
            restarts: 2,
            healthy: true,
            lastError: null,
            crashTimes: [1, 2, 3],
            policy: { maxCrashes: 5 },
            now: () => 0,
          },
        }),
      );
      expect(entry(table, "x:1")?.context).toEqual({
        name: "participant",
        restarts: 2,
        healthy: true,
        lastError: null,
        "crashTimes.length": 3,
      });
    });

    it("redacts values under secret-looking keys", () => {
      const summary = summarizeContext({
        seed: "SUAEXAMPLESEED",
        seedFile: "/data/keys/machine.nk",
        token: "t0k3n",
        apiToken: "t0k3n",
        password: "hunter2",
        passwd: "hunter2",
        privateKey: "abc",
        publicKey: "UABC",
        clientSecret: "s3cret",
        natsCredentials: "creds",
        pin: 1234,
        region: "eu",
      });
      expect(summary).toEqual({
        seed: "[redacted]",
        seedFile: "[redacted]",
        token: "[redacted]",
        apiToken: "[redacted]",
        password: "[redacted]",
        passwd: "[redacted]",
        privateKey: "[redacted]",
        publicKey: "[redacted]",
        clientSecret: "[redacted]",
        natsCredentials: "[redacted]",
        pin: 1234,
        region: "eu",
      });
      // No secret value leaks anywhere in the summary.
      expect(JSON.stringify(summary)).not.toMatch(/SUAEXAMPLESEED|t0k3n|hunter2|s3cret|creds/);
    });

    it("redacts secrets in the table it publishes", () => {
      const table = nodeTree();
      table.apply(snapshot("x:2", 2_000, { context: { machineId: "m1", seed: "SUAEXAMPLESEED" } }));
      expect(entry(table, "x:2")?.context).toEqual({ machineId: "m1", seed: "[redacted]" });
      expect(JSON.stringify(table.list())).not.toContain("SUAEXAMPLESEED");
    });

    it("has no context for actors whose snapshot has none, and keeps the last one when a snapshot omits it", () => {
      expect(summarizeContext(undefined)).toBeUndefined();
      expect(summarizeContext("text")).toBeUndefined();
      const table = nodeTree();
      table.apply(snapshot("x:1", 2_000, { context: { restarts: 1 } }));
      table.apply(snapshot("x:1", 3_000, { stateValue: "running" }));
      expect(entry(table, "x:1")?.context).toEqual({ restarts: 1 });
    });
  });

  describe("pruning", () => {
    it("forgets actors that ended more than keepMs ago, and keeps live ones", () => {
      const table = nodeTree();
      table.apply(snapshot("x:2", 10_000, { status: "done" }));
      table.apply(snapshot("x:1", 12_000, { status: "stopped" }));

      table.prune(40_000, 30_000); // x:2 ended exactly 30 s ago: kept
      expect(table.list().map((e) => e.sessionId)).toEqual(["x:0", "x:1", "x:2"]);
      table.prune(40_001, 30_000);
      expect(table.list().map((e) => e.sessionId)).toEqual(["x:0", "x:1"]);
      table.prune(1_000_000, 30_000);
      expect(table.list().map((e) => e.sessionId)).toEqual(["x:0"]);
      expect(entry(table, "x:0")?.status).toBe("active");
    });

    it("does not prune an actor that was seen again after it ended", () => {
      const table = nodeTree();
      table.apply(snapshot("x:2", 10_000, { status: "done" }));
      table.apply(actor("x:2", "child", 11_000, "x:1"));
      table.prune(1_000_000, 30_000);
      expect(entry(table, "x:2")).toMatchObject({ status: "active", path: "node/participant/child" });
    });
  });

  describe("version", () => {
    it("changes when an actor appears, changes or is pruned", () => {
      const table = new ActorTable();
      const v0 = table.version;
      expect(table.apply(actor("x:0", "node", 1))).toBe(true);
      const v1 = table.version;
      expect(v1).not.toBe(v0);
      expect(table.apply(snapshot("x:0", 2, { stateValue: "running" }))).toBe(true);
      const v2 = table.version;
      expect(v2).not.toBe(v1);
      expect(table.apply({ kind: "event", at: 3, targetSessionId: "x:0", eventType: "STOP" })).toBe(true);
      const v3 = table.version;
      expect(v3).not.toBe(v2);
      table.apply(snapshot("x:0", 4, { stateValue: "stopped", status: "done" }));
      const v4 = table.version;
      table.prune(1_000_000, 30_000);
      expect(table.list()).toEqual([]);
      expect(table.version).not.toBe(v4);
    });

    it("does not change for records about unknown actors, internal events, or a prune that removes nothing", () => {
      const table = nodeTree();
      const before = table.version;
      expect(table.apply(snapshot("x:unknown", 2, { stateValue: "running" }))).toBe(false);
      expect(table.apply({ kind: "event", at: 3, targetSessionId: "x:unknown", eventType: "STOP" })).toBe(false);
      expect(table.apply({ kind: "event", at: 4, targetSessionId: "x:1", eventType: "xstate.init" })).toBe(false);
      table.prune(1_000_000, 30_000); // nothing has ended
      expect(table.version).toBe(before);
      expect(table.list()).toHaveLength(3);
    });

    // KNOWN BUG (reported, not fixed here): `apply` bumps `version` and returns true for any
    // record about a known actor, even when the record repeats what the table already shows, so
    // the inspector republishes an unchanged table. Remove `.fails` once apply compares first.
    it("does not change for a record that repeats what the table already shows", () => {
      const table = nodeTree();
      const same = snapshot("x:1", 2_000, { stateValue: "running", context: { restarts: 0 }, eventType: "PING" });
      table.apply(same);
      const before = table.version;
      const listed = JSON.stringify(table.list());
      expect(table.apply({ ...same, at: 2_500 })).toBe(false);
      expect(JSON.stringify(table.list())).toBe(listed);
      expect(table.apply({ kind: "event", at: 2_600, targetSessionId: "x:1", eventType: "PING" })).toBe(false);
      expect(table.version).toBe(before);
    });
  });
});

describe("formatStateValue", () => {
  it("keeps a simple state as is", () => {
    expect(formatStateValue("running")).toBe("running");
  });

  it("joins nested states with dots", () => {
    expect(formatStateValue({ running: "backoff" })).toBe("running.backoff");
    expect(formatStateValue({ deploy: { execute: "waitReady" } })).toBe("deploy.execute.waitReady");
  });

  it("joins parallel regions with a comma", () => {
    expect(formatStateValue({ gateway: "serving", dns: { stale: "reloading" } })).toBe("gateway.serving, dns.stale.reloading");
  });

  it("has nothing to show for a missing value, and shows other scalars as text", () => {
    expect(formatStateValue(undefined)).toBeUndefined();
    expect(formatStateValue(null)).toBeUndefined();
    expect(formatStateValue(3)).toBe("3");
    expect(formatStateValue({ idle: {} })).toBe("idle");
  });

  // KNOWN BUG (reported, not fixed here): parallel regions nested inside a compound state lose
  // their parent prefix after the first region: `{ a: { p: "x", q: "y" } }` → "a.p.x, q.y".
  it("prefixes every parallel region nested inside a compound state", () => {
    expect(formatStateValue({ running: { watch: "idle", apply: "busy" } })).toBe("running.watch.idle, running.apply.busy");
  });
});
