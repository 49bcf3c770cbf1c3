import fc from "fast-check";
import * as packet from "dns-packet";
import { describe, expect, it } from "vitest";
import { DNS_TYPE, parseDnsQuery, type DnsQuery } from "../../model/dns-query.ts";
import { aQuery } from "../fixtures/dns.ts";

const queryOf = (bytes: Uint8Array): DnsQuery => {
  const parsed = parseDnsQuery(bytes);
  if (parsed.kind !== "query") throw new Error(`expected a query, got ${JSON.stringify(parsed)}`);
  return parsed.query;
};

/** A header: id 7, RD, with the given counts. */
function header(qdcount: number, ancount = 0, nscount = 0, arcount = 0, flags = 0x0100): number[] {
  return [0, 7, flags >> 8, flags & 0xff, 0, qdcount, 0, ancount, 0, nscount, 0, arcount];
}
const name = (...labels: string[]) => [...labels.flatMap((l) => [l.length, ...Buffer.from(l, "latin1")]), 0];
const A_IN = [0, 1, 0, 1];

describe("parseDnsQuery: queries", () => {
  it("reads the id, RD, the question in lower case, its type and class, and keeps the question's bytes as sent", () => {
    const bytes = aQuery("Web.SHOP.ployz.internal", { id: 513, type: "SRV" });
    const query = queryOf(bytes);

    expect(query).toMatchObject({ id: 513, opcode: 0, recursionDesired: true, question: { name: "web.shop.ployz.internal", labels: ["web", "shop", "ployz", "internal"], type: DNS_TYPE.SRV, class: 1 } });
    expect(Buffer.from(query.question.raw).toString("latin1")).toContain("Web\x04SHOP");
    expect(query.question.raw.length).toBe(bytes.length - 12);
    expect(query.edns).toBeUndefined();
  });

  it("reads the EDNS UDP size and version from the OPT record", () => {
    expect(queryOf(aQuery("a.b", { edns: 4096 })).edns).toEqual({ udpSize: 4096, version: 0 });
    expect(queryOf(aQuery("a.b", { edns: 1232, ednsVersion: 1 })).edns).toEqual({ udpSize: 1232, version: 1 });
  });

  it("reads RD cleared, and the root name", () => {
    const query = queryOf(aQuery(".", { recursionDesired: false }));
    expect(query.recursionDesired).toBe(false);
    expect(query.question.name).toBe("");
  });

  it("escapes a dot or a backslash inside a label, so one label can never pass for two", () => {
    const query = queryOf(new Uint8Array([...header(1), ...name("web.shop", "ployz", "internal"), ...A_IN]));
    expect(query.question.labels).toEqual(["web\\.shop", "ployz", "internal"]);
    expect(query.question.name).toBe("web\\.shop.ployz.internal");
    expect(queryOf(new Uint8Array([...header(1), ...name("a\\b"), ...A_IN])).question.name).toBe("a\\\\b");
  });

  it("skips answer and authority records (compressed names included) before the OPT record", () => {
    // an answer whose name points at the question, then an OPT
    const answer = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1];
    const opt = [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0];
    const query = queryOf(new Uint8Array([...header(1, 1, 0, 1), ...name("x", "y"), ...A_IN, ...answer, ...opt]));
    expect(query.edns).toEqual({ udpSize: 1232, version: 0 });
  });
});

describe("parseDnsQuery: what is not a query", () => {
  it("ignores a message shorter than a header, and a response", () => {
    expect(parseDnsQuery(new Uint8Array(11))).toMatchObject({ kind: "ignored" });
    expect(parseDnsQuery(packet.encode({ type: "response", id: 1, questions: [{ type: "A", name: "x" }] }))).toMatchObject({ kind: "ignored", reason: "a response, not a query" });
  });

  it("calls a readable header with a bad body malformed (FORMERR), keeping id, opcode and RD", () => {
    const cases: Array<[string, number[]]> = [
      ["no question", header(0)],
      ["two questions", [...header(2), ...name("a"), ...A_IN, ...name("b"), ...A_IN]],
      ["a name cut short", [...header(1), 5, 0x61, 0x62]],
      ["a pointer in the question", [...header(1), 0xc0, 12, ...A_IN]],
      ["no type and class", [...header(1), ...name("a"), 0]],
      ["an OPT record cut short", [...header(1, 0, 0, 1), ...name("a"), ...A_IN, 0, 0, 41]],
      ["an OPT record whose rdata runs past the end", [...header(1, 0, 0, 1), ...name("a"), ...A_IN, 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 9]],
      ["two OPT records", [...header(1, 0, 0, 2), ...name("a"), ...A_IN, ...[0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0], ...[0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]]],
      ["an OPT record with a name", [...header(1, 0, 0, 1), ...name("a"), ...A_IN, ...name("x"), 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]],
      ["a name longer than 255 bytes", [...header(1), ...name(...Array.from({ length: 5 }, () => "x".repeat(63))), ...A_IN]],
    ];
    for (const [what, bytes] of cases) {
      expect(parseDnsQuery(new Uint8Array(bytes)), what).toMatchObject({ kind: "malformed", id: 7, opcode: 0, recursionDesired: true });
    }
  });

  it("never throws and never reads out of bounds, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const parsed = parseDnsQuery(bytes);
        if (parsed.kind === "query") expect(parsed.query.question.raw.length).toBeLessThanOrEqual(bytes.length - 12);
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads back every query dns-packet writes, whatever the name", () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 0xffff }), (labels, id) => {
        const query = queryOf(aQuery(labels.join("."), { id }));
        expect(query.id).toBe(id);
        expect(query.question.name).toBe(labels.join(".").toLowerCase());
      }),
    );
  });
});
