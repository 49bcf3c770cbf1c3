import { describe, expect, it } from "vitest";
import { eventFromStatus, eventsFilter, formatEvent, oneLine, type ClusterEvent, type EventsReply, type EventsRequest } from "../../model/cluster-events.ts";
import { eventPages } from "../../runtime/follow-events.ts";

const at = "2026-12-01T12:00:00.000Z";

describe("a Status record as an event", () => {
  it("says a deploy phase in one line, with its reason", () => {
    const event = eventFromStatus(7, "status.shop.deploy", { type: "deploy", namespace: "shop", deployId: "d1", machine: "m1", phase: "readiness", state: "failed", reason: "web#0 exited\nwith code 3", at }, "x");
    expect(event).toEqual({ seq: 7, at, kind: "deploy", namespace: "shop", machine: "m1", message: "deploy d1 readiness FAILED: web#0 exited with code 3" });
  });

  it("lists a reconciler's actions, or says it had none", () => {
    expect(eventFromStatus(1, "status.shop.reconcile", { type: "reconcile", namespace: "shop", machine: "m1", headSeq: 4, actions: ["started web#1", "unrouted web#0"], at }, "x").message).toBe("reconciled (head 4): started web#1; unrouted web#0");
    expect(eventFromStatus(1, "status.shop.reconcile", { type: "reconcile", namespace: "shop", machine: "m1", headSeq: null, actions: [], at }, "x").message).toBe("reconciled: nothing to do");
  });

  it("names an exec's who and what, never its data", () => {
    const record = { type: "exec", event: "ended", namespace: "shop", service: "web", slot: 0, machine: "m1", containerId: "c".repeat(64), session: "s", who: "alice", user: "alice@laptop", command: "sh -c env", tty: true, at, exitCode: 0 };
    expect(eventFromStatus(3, "status.shop.exec", record, "x").message).toBe("exec in web#0 by alice (alice@laptop) ended with exit code 0: sh -c env");
  });

  it("says which machine a node fact and a certificate order are about", () => {
    expect(eventFromStatus(2, "status._node.m1", { type: "node", machine: "m1", at, event: "child-failed", detail: "gateway: boom", version: "0.1.0" }, "x")).toEqual({ seq: 2, at, kind: "node", machine: "m1", message: "actor failed (crash loop): gateway: boom" });
    expect(eventFromStatus(5, "status._cert.m1", { type: "certificate", machine: "m1", hostname: "a.example.com", outcome: "failed", reason: "rate limited", at }, "x")).toMatchObject({ kind: "certificate", machine: "m1", message: "certificate order for a.example.com failed: rate limited" });
  });

  it("summarises a placement by its services", () => {
    expect(eventFromStatus(4, "status.shop.placement", { type: "placement", namespace: "shop", deployId: "d2", commitSeq: 9, at, explanations: [{ service: "web" }, { service: "db" }] }, "x").message).toBe("placed web, db for deploy d2 (commit 9)");
  });

  it("reports a record it cannot read as such, at the time it was stored", () => {
    expect(eventFromStatus(9, "status.shop.deploy", { type: "deploy", namespace: "shop" }, at)).toMatchObject({ kind: "unknown", namespace: "shop", at, message: expect.stringContaining("an unreadable Status record on status.shop.deploy") });
    expect(eventFromStatus(9, "status._node.m2", "not json", at)).toMatchObject({ kind: "unknown", machine: "m2", message: expect.stringContaining("unknown record type undefined") });
  });

  it("keeps messages to one line of at most 300 characters", () => {
    expect(oneLine("a\n  b\tc ")).toBe("a b c");
    expect(oneLine("x".repeat(400))).toHaveLength(300);
  });

  it("filters one namespace or all, and prints a line a person can read", () => {
    expect(eventsFilter("shop")).toBe("status.shop.>");
    expect(eventsFilter()).toBe("status.>");
    expect(formatEvent({ seq: 1, at, kind: "deploy", namespace: "shop", machine: "m1", message: "deploy d1 commit done" })).toBe(`${at}  deploy       shop@m1               deploy d1 commit done`);
    expect(formatEvent({ seq: 1, at, kind: "node", machine: "m1", message: "ployzd started" })).toContain("  @m1  ");
  });
});

describe("following events", () => {
  const event = (seq: number): ClusterEvent => ({ seq, at, kind: "deploy", namespace: "shop", message: `e${seq}` });

  it("pages on after the last sequence read, never showing an event twice, and stops when aborted", async () => {
    const abort = new AbortController();
    const asked: EventsRequest[] = [];
    const answers: EventsReply[] = [
      { type: "events", events: [event(1), event(2)], lastSeq: 2, more: true },
      { type: "events", events: [event(3)], lastSeq: 5, more: false },
      { type: "events", events: [], lastSeq: 6, more: false },
      { type: "events", events: [event(8)], lastSeq: 8, more: false },
    ];
    const seen: number[] = [];
    for await (const page of eventPages(
      async (request) => {
        asked.push(request);
        const answer = answers.shift()!;
        if (answers.length === 0) abort.abort();
        return answer;
      },
      { namespace: "shop", sinceMs: 1000 },
      { follow: true, signal: abort.signal, pollMs: 1 },
    ))
      seen.push(...page.map((e) => e.seq));
    expect(seen).toEqual([1, 2, 3, 8]);
    expect(asked).toEqual([{ namespace: "shop", sinceMs: 1000 }, { namespace: "shop", afterSeq: 2 }, { namespace: "shop", afterSeq: 5 }, { namespace: "shop", afterSeq: 6 }]);
  });

  it("without --follow, ends once the last page is read", async () => {
    const replies: EventsReply[] = [{ type: "events", events: [event(1)], lastSeq: 1, more: false }];
    const pages = [];
    for await (const page of eventPages(async () => replies.shift()!, {}, { follow: false, signal: new AbortController().signal })) pages.push(page);
    expect(pages).toHaveLength(1);
  });
});
