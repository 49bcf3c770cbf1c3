import { describe, expect, it } from "vitest";
import { replyLimit, respondToQuery, serverFailure, type DnsAsker, type DnsDecision, type DnsZoneContext } from "../../model/dns-respond.ts";
import { parseDnsQuery } from "../../model/dns-query.ts";
import { addressesOf, aQuery, decodeReply, type DecodedReply } from "../fixtures/dns.ts";
import { aBackend, aProjection, aRoutingRecord } from "../fixtures/routing.ts";

const web = aRoutingRecord({ service: "web", ports: [{ container: 8080, protocol: "tcp" }], backends: Array.from({ length: 40 }, (_, i) => aBackend(i, { address: `10.1.0.${i + 1}` })) });
const zone: DnsZoneContext = { projection: aProjection(web), ttl: 0, canForward: true, rotation: 0 };
const container: DnsAsker = { transport: "udp", trusted: true };
const stranger: DnsAsker = { transport: "udp", trusted: false };

function replied(decision: DnsDecision): DecodedReply & { size: number } {
  if (decision.type !== "reply") throw new Error(`expected a reply, got ${decision.type}`);
  return { ...decodeReply(decision.bytes), size: decision.bytes.length };
}

describe("respondToQuery: the cluster zone", () => {
  it("answers a trusted asker authoritatively, with the TTL it is given", () => {
    const reply = replied(respondToQuery(aQuery("web.shop.ployz.internal", { edns: 1232 }), container, { ...zone, ttl: 2 }));
    expect(reply).toMatchObject({ rcode: "NOERROR", authoritative: true, truncated: false, recursionAvailable: true, edns: 1232 });
    expect(addressesOf(reply).sort()).toEqual(web.backends.map((b) => b.address).sort());
    expect(reply.answers.every((a) => (a as { ttl: number }).ttl === 2)).toBe(true);
  });

  it("truncates a classic UDP reply to 512 bytes with TC, and sends everything over TCP", () => {
    const udp = replied(respondToQuery(aQuery("web.shop.ployz.internal"), container, zone));
    expect(udp.truncated).toBe(true);
    expect(udp.size).toBeLessThanOrEqual(512);
    expect(udp.answers.length).toBeGreaterThan(20);

    const tcp = replied(respondToQuery(aQuery("web.shop.ployz.internal"), { transport: "tcp", trusted: true }, zone));
    expect(tcp.truncated).toBe(false);
    expect(tcp.answers).toHaveLength(40);
  });

  it("holds a UDP reply to the EDNS size the asker offers, never under 512 nor over 1232", () => {
    const many = { ...zone, projection: aProjection({ ...web, backends: Array.from({ length: 200 }, (_, i) => aBackend(i, { address: `10.2.${i >> 8}.${i & 255}` })) }) };
    for (const [offered, limit] of [[100, 512], [512, 512], [800, 800], [1232, 1232], [4096, 1232]] as const) {
      const reply = replied(respondToQuery(aQuery("web.shop.ployz.internal", { edns: offered }), container, many));
      expect(reply.truncated, `offered ${offered}`).toBe(true);
      expect(reply.size, `offered ${offered}`).toBeLessThanOrEqual(limit);
      expect(reply.size, `offered ${offered}`).toBeGreaterThan(limit - 16);
    }
    expect(replyLimit("tcp", 512)).toBe(65_535);
  });

  it("starts the answer list where the rotation says, so truncated replies spread over every backend", () => {
    const seen = new Set<string>();
    for (let rotation = 0; rotation < 40; rotation += 7) {
      const reply = replied(respondToQuery(aQuery("web.shop.ployz.internal"), container, { ...zone, rotation }));
      expect(addressesOf(reply)[0]).toBe(`10.1.0.${rotation + 1}`);
      addressesOf(reply).forEach((a) => seen.add(a));
    }
    expect(seen.size).toBe(40);
  });

  it("answers NXDOMAIN for an unknown name in the zone, never forwarding it", () => {
    expect(replied(respondToQuery(aQuery("nosuch.shop.ployz.internal"), container, zone))).toMatchObject({ rcode: "NXDOMAIN", authoritative: true, answers: [] });
  });

  it("refuses a class other than IN (or ANY) in the zone", () => {
    const chaos = aQuery("web.shop.ployz.internal");
    chaos[chaos.length - 1] = 3; // class CH
    expect(replied(respondToQuery(chaos, container, zone)).rcode).toBe("REFUSED");
  });
});

describe("respondToQuery: names outside the zone", () => {
  it("forwards a trusted asker's query, as it came", () => {
    const query = aQuery("example.com", { id: 77 });
    const decision = respondToQuery(query, container, zone);
    expect(decision).toMatchObject({ type: "forward", query: { id: 77, question: { name: "example.com" } } });
  });

  it("refuses it when there is no upstream, and says so (RA clear)", () => {
    expect(replied(respondToQuery(aQuery("example.com"), container, { ...zone, canForward: false }))).toMatchObject({ rcode: "REFUSED", recursionAvailable: false });
  });
});

describe("respondToQuery: a source that is not this cluster's", () => {
  it("gets REFUSED for the zone and for everything else, never an answer nor a forward", () => {
    for (const name of ["web.shop.ployz.internal", "example.com", "nosuch.ployz.internal"]) {
      expect(replied(respondToQuery(aQuery(name), stranger, zone)), name).toMatchObject({ rcode: "REFUSED", answers: [], recursionAvailable: false });
    }
  });

  it("gets REFUSED even for a malformed query or one we could not serve", () => {
    const twoQuestions = new Uint8Array([0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    expect(replied(respondToQuery(twoQuestions, stranger, zone)).rcode).toBe("REFUSED");
    expect(replied(respondToQuery(aQuery("web.shop.ployz.internal", { edns: 1232, ednsVersion: 1 }), stranger, zone)).rcode).toBe("REFUSED");
  });
});

describe("respondToQuery: protocol errors", () => {
  it("answers FORMERR to a trusted asker's malformed query, echoing its id", () => {
    const twoQuestions = new Uint8Array([0, 9, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    expect(replied(respondToQuery(twoQuestions, container, zone))).toMatchObject({ id: 9, rcode: "FORMERR", questions: [] });
  });

  it("answers NOTIMP to another opcode, BADVERS to EDNS version 1", () => {
    const status = aQuery("web.shop.ployz.internal");
    status[2] = (status[2]! & 0x87) | (2 << 3); // opcode STATUS
    expect(replied(respondToQuery(status, container, zone)).rcode).toBe("NOTIMP");
    const badvers = respondToQuery(aQuery("web.shop.ployz.internal", { edns: 1232, ednsVersion: 1 }), container, zone);
    expect(badvers.type === "reply" && badvers.rcode).toBe("BADVERS");
  });

  it("drops what is not a query at all", () => {
    expect(respondToQuery(new Uint8Array(5), container, zone)).toMatchObject({ type: "drop" });
  });

  it("writes SERVFAIL for a forwarded query the upstream did not answer", () => {
    const parsed = parseDnsQuery(aQuery("example.com", { id: 5, edns: 1232 }));
    if (parsed.kind !== "query") throw new Error("not a query");
    expect(decodeReply(serverFailure(parsed.query, "udp"))).toMatchObject({ id: 5, rcode: "SERVFAIL", questions: [{ name: "example.com" }], edns: 1232 });
  });
});
