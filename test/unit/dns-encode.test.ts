import fc from "fast-check";
import * as packet from "dns-packet";
import { describe, expect, it } from "vitest";
import { encodeReply, SERVER_UDP_PAYLOAD, type DnsReply } from "../../model/dns-encode.ts";
import { parseDnsQuery, type DnsQuestion } from "../../model/dns-query.ts";
import type { DnsAnswer } from "../../model/dns-zone.ts";
import { addressesOf, aQuery, dataOf, decodeReply } from "../fixtures/dns.ts";

function questionOf(name: string, type: packet.RecordType = "A"): DnsQuestion {
  const parsed = parseDnsQuery(aQuery(name, { type }));
  if (parsed.kind !== "query") throw new Error("not a query");
  return parsed.query.question;
}

const NAME = "web.shop.ployz.internal";
const aRecords = (n: number, name = NAME): DnsAnswer[] => Array.from({ length: n }, (_, i) => ({ type: "A", name, ttl: 0, data: `10.1.${i >> 8}.${i & 0xff}` }));

function aReply(answers: DnsAnswer[], overrides: Partial<DnsReply> = {}): DnsReply {
  return { id: 99, opcode: 0, recursionDesired: true, authoritative: true, recursionAvailable: true, rcode: "NOERROR", question: questionOf(NAME), answers, edns: false, ...overrides };
}

/** What dns-packet (which never compresses) makes of the same reply. */
function uncompressedSize(answers: DnsAnswer[]): number {
  return packet.encode({ type: "response", id: 99, flags: 0, questions: [{ type: "A", name: NAME }], answers: answers.map((a) => ({ ...a, class: "IN" }) as packet.Answer) }).length;
}

describe("encodeReply: name compression", () => {
  it("writes each A record's owner as a 2-byte pointer to the question: 16 bytes a record", () => {
    const question = questionOf(NAME).raw.length;
    for (const n of [1, 13, 29]) {
      const { bytes } = encodeReply(aReply(aRecords(n)), 65_535);
      expect(bytes.length, `${n} records`).toBe(12 + question + 16 * n);
    }
  });

  it("fits 13 ready backends — 548 bytes without compression — in 12 + question + 208 bytes, under 512", () => {
    expect(uncompressedSize(aRecords(13))).toBe(548);
    const { bytes, truncated } = encodeReply(aReply(aRecords(13)), 512);
    expect(bytes.length).toBeLessThan(512);
    expect(truncated).toBe(false);
    expect(addressesOf(decodeReply(bytes))).toEqual(aRecords(13).map((a) => a.data));
  });

  it("is read back by an independent decoder: id, flags, question as asked (case kept), every answer", () => {
    const question = questionOf("Web.Shop.Ployz.Internal");
    const answers: DnsAnswer[] = [...aRecords(2, "web.shop.ployz.internal")];
    const decoded = decodeReply(encodeReply(aReply(answers, { question }), 512).bytes);

    expect(decoded).toMatchObject({ id: 99, rcode: "NOERROR", truncated: false, authoritative: true, recursionAvailable: true });
    expect(decoded.questions).toEqual([{ name: "Web.Shop.Ployz.Internal", type: "A", class: "IN" }]);
    // the owner names point at the question, so they read as it was spelled
    expect(decoded.answers.map((a) => [a.name, a.type, (a as { ttl: number }).ttl, dataOf(a)])).toEqual([
      ["Web.Shop.Ployz.Internal", "A", 0, "10.1.0.0"],
      ["Web.Shop.Ployz.Internal", "A", 0, "10.1.0.1"],
    ]);
  });

  it("compresses an owner name that shares only a suffix with the question, and never an SRV target (RFC 2782)", () => {
    const answers: DnsAnswer[] = [
      { type: "A", name: "0.web.shop.ployz.internal", ttl: 1, data: "10.0.0.1" },
      { type: "SRV", name: NAME, ttl: 1, data: { priority: 0, weight: 1, port: 8080, target: "0.web.shop.ployz.internal" } },
    ];
    const { bytes } = encodeReply(aReply(answers, { question: questionOf(NAME, "SRV") }), 512);
    const decoded = decodeReply(bytes);
    expect(decoded.answers.map((a) => [a.name, dataOf(a)])).toEqual([
      ["0.web.shop.ployz.internal", "10.0.0.1"],
      [NAME, { priority: 0, weight: 1, port: 8080, target: "0.web.shop.ployz.internal" }],
    ]);
    // "1 '0' + pointer" for the owner, and the target spelled out in full inside the SRV rdata
    expect(Buffer.from(bytes).includes(Buffer.from([1, 0x30, 0xc0, 12]))).toBe(true);
    expect(Buffer.from(bytes).includes(Buffer.from("\x010\x03web\x04shop\x05ployz\x08internal\x00", "latin1"))).toBe(true);
  });
});

describe("encodeReply: truncation", () => {
  it("keeps as many whole answers as fit in 512 bytes and sets TC", () => {
    const { bytes, truncated, answers } = encodeReply(aReply(aRecords(40)), 512);
    const question = questionOf(NAME).raw.length;

    expect(truncated).toBe(true);
    expect(answers).toBe(Math.floor((512 - 12 - question) / 16));
    expect(bytes.length).toBeLessThanOrEqual(512);
    const decoded = decodeReply(bytes);
    expect(decoded.truncated).toBe(true);
    expect(addressesOf(decoded)).toEqual(aRecords(answers).map((a) => a.data));
  });

  it("keeps the OPT record when it truncates an EDNS reply, within the size", () => {
    const { bytes, truncated } = encodeReply(aReply(aRecords(100), { edns: true }), 1232);
    expect(truncated).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(1232);
    expect(decodeReply(bytes)).toMatchObject({ truncated: true, edns: SERVER_UDP_PAYLOAD });
  });

  it("sends no answer at all, with TC, when not even one fits", () => {
    const { bytes, truncated, answers } = encodeReply(aReply(aRecords(3)), 0);
    expect({ truncated, answers }).toEqual({ truncated: true, answers: 0 });
    expect(decodeReply(bytes)).toMatchObject({ truncated: true, answers: [] });
  });

  it("for any answers and any limit: decodes, stays within the limit, holds a prefix of the answers, TC exactly when some were left out", () => {
    const answer = fc.oneof(
      fc.record({ slot: fc.nat(999), port: fc.integer({ min: 1, max: 65_535 }) }).map(({ slot, port }): DnsAnswer => ({ type: "SRV", name: NAME, ttl: 0, data: { priority: 0, weight: 1, port, target: `${slot}.${NAME}` } })),
      fc.ipV4().map((ip): DnsAnswer => ({ type: "A", name: NAME, ttl: 0, data: ip })),
    );
    fc.assert(
      fc.property(fc.array(answer, { maxLength: 80 }), fc.integer({ min: 60, max: 2_000 }), fc.boolean(), (answers, limit, edns) => {
        const encoded = encodeReply(aReply(answers, { edns }), limit);
        expect(encoded.bytes.length).toBeLessThanOrEqual(limit);
        const decoded = decodeReply(encoded.bytes);
        expect(decoded.answers.length).toBe(encoded.answers);
        expect(decoded.truncated).toBe(encoded.answers < answers.length);
        expect(decoded.answers.map(dataOf)).toEqual(answers.slice(0, encoded.answers).map((a) => a.data));
      }),
      { numRuns: 300 },
    );
  });
});

describe("encodeReply: headers", () => {
  it("puts the low four bits of an extended rcode in the header and the rest in the OPT record (BADVERS = 16)", () => {
    const { bytes } = encodeReply(aReply([], { rcode: "BADVERS", edns: true }), 512);
    expect(bytes[3]! & 0x0f).toBe(0);
    const opt = bytes.subarray(bytes.length - 11);
    expect([opt[1], opt[2], opt[5]]).toEqual([0, 41, 1]);
  });

  it("writes a reply without a question when the query's could not be read (FORMERR)", () => {
    const decoded = decodeReply(encodeReply(aReply([], { question: undefined, rcode: "FORMERR" }), 512).bytes);
    expect(decoded).toMatchObject({ rcode: "FORMERR", questions: [], answers: [] });
  });

  it("refuses to write an address that is not dotted-quad IPv4, or a name with an empty label", () => {
    for (const address of ["fd00::1", "10.0.0", "10.0.0.256", "1.2.3.4.5", "1..2.3", "a.b.c.d", "1.2.3.4 ", "", "1234.1.1.1"]) {
      expect(() => encodeReply(aReply([{ type: "A", name: NAME, ttl: 0, data: address }]), 512), address).toThrow(RangeError);
    }
    expect(addressesOf(decodeReply(encodeReply(aReply([{ type: "A", name: NAME, ttl: 0, data: "255.0.10.1" }]), 512).bytes))).toEqual(["255.0.10.1"]);
    expect(() => encodeReply(aReply([{ type: "A", name: "web..internal", ttl: 0, data: "10.0.0.1" }]), 512)).toThrow(RangeError);
  });
});
