import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advanceCursor, afterCursor, dockerTimestamp, logTime, logTimeOfMs, mergeRound, splitTimestamp, type LogCursor } from "../../model/log-lines.ts";
import { logRounds } from "../../runtime/follow-logs.ts";
import type { LogsApiReply, LogsApiRequest } from "../../model/api-deploy.ts";

const t = (n: number) => `2026-12-01T12:00:00.${String(n).padStart(9, "0")}Z`;

describe("log times", () => {
  it("are Docker's times made fixed-width, so they sort as text", () => {
    expect(logTime("2026-12-01T12:00:00.5Z")).toBe("2026-12-01T12:00:00.500000000Z");
    expect(logTime("2026-12-01T12:00:00Z")).toBe("2026-12-01T12:00:00.000000000Z");
    expect(logTime("2026-12-01T12:00:00.123456789Z")).toBe("2026-12-01T12:00:00.123456789Z");
    expect(logTime("yesterday")).toBeUndefined();
    expect(logTimeOfMs(Date.parse("2026-12-01T12:00:01.250Z"))).toBe("2026-12-01T12:00:01.250000000Z");
    expect(dockerTimestamp("2026-12-01T12:00:01.250000000Z")).toBe(`${Date.parse("2026-12-01T12:00:01Z") / 1000}.250000000`);
    expect(splitTimestamp("2026-12-01T12:00:00.1Z hello world", t(9))).toEqual({ time: "2026-12-01T12:00:00.100000000Z", text: "hello world" });
    expect(splitTimestamp("no time here", t(9))).toEqual({ time: t(9), text: "no time here" });
  });
});

describe("cursors", () => {
  it("drop exactly the lines already shown when asked again from the same time", () => {
    const lines = [t(1), t(2), t(2), t(2), t(3)].map((time, i) => ({ time, n: i }));
    const cursor = advanceCursor(undefined, lines.slice(0, 3));
    expect(cursor).toEqual({ time: t(2), shown: 2 });
    // Docker answers `since: t(2)` with every line of t(2) on (inclusive)
    expect(afterCursor(lines.slice(1), cursor).map((l) => l.n)).toEqual([3, 4]);
  });

  it("never repeat and never skip, however the lines are cut into rounds", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 40 }), (gaps, pages) => {
        let clock = 0;
        const all = gaps.map((gap, n) => ({ time: t((clock += gap)), n }));
        let cursor: LogCursor | undefined;
        const shown: number[] = [];
        for (let round = 0; shown.length < all.length && round < 200; round++) {
          const since = cursor ? all.filter((l) => l.time >= cursor!.time) : all;
          const page = afterCursor(since, cursor).slice(0, pages[round % pages.length]);
          shown.push(...page.map((l) => l.n));
          cursor = advanceCursor(cursor, page);
        }
        expect(shown).toEqual(all.map((l) => l.n));
      }),
    );
  });
});

describe("a merge round", () => {
  it("orders every source's lines by time", () => {
    const round = mergeRound([
      { key: "a", lines: [{ time: t(1) }, { time: t(5) }], truncated: false },
      { key: "b", lines: [{ time: t(2) }, { time: t(3) }], truncated: false },
    ]);
    expect(round.lines.map((l) => `${l.key}${l.time.slice(-2, -1)}`)).toEqual(["a1", "b2", "b3", "a5"]);
  });

  it("stops where a cut source is known complete, leaving later lines of the others for the next round", () => {
    const round = mergeRound([
      { key: "chatty", lines: [{ time: t(1) }, { time: t(2) }], truncated: true },
      { key: "quiet", lines: [{ time: t(1) }, { time: t(4) }], truncated: false },
    ]);
    expect(round.lines.map((l) => l.key)).toEqual(["chatty", "quiet", "chatty"]);
    expect(round.shown.get("quiet")).toEqual([{ time: t(1) }]);
  });
});

describe("following logs", () => {
  it("hands each round's cursors to the next, asks at once while a round was cut, and stops when aborted", async () => {
    const abort = new AbortController();
    const asked: LogsApiRequest[] = [];
    const reply = (cursor: number, more: boolean): LogsApiReply => ({ type: "logs", until: t(9), lines: [], cursors: { c1: { time: t(cursor), shown: 1 } }, errors: [], more });
    const replies = [reply(1, true), reply(2, false), reply(3, false)];
    let rounds = 0;
    for await (const _ of logRounds(
      async (request) => {
        asked.push(request);
        const next = replies.shift()!;
        if (replies.length === 0) abort.abort();
        return next;
      },
      { namespace: "shop", service: "web", tail: 5 },
      { follow: true, signal: abort.signal, pollMs: 1 },
    ))
      rounds++;
    expect(rounds).toBe(3);
    expect(asked.map((r) => r.cursors)).toEqual([{}, { c1: { time: t(1), shown: 1 } }, { c1: { time: t(2), shown: 1 } }]);
  });
});
