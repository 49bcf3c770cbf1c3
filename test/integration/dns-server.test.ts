import { connect } from "node:net";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClusterDns, type ClusterDnsOptions } from "../../actors/dns/cluster-dns.ts";
import { freeDnsPort } from "../../actors/dns/dns-address.ts";
import { listenDns } from "../../actors/dns/listen.ts";
import { DnsListenError } from "../../model/dns-errors.ts";
import { dnsTtlSeconds } from "../../model/dns-zone.ts";
import { PortInUseError } from "../../model/errors.ts";
import { aBackend, aProjection, aRoutingRecord } from "../fixtures/routing.ts";
import { aQuery, decodeReply } from "../fixtures/dns.ts";
import { dig, startStaticDns, type StaticDns } from "../harness/dns.ts";

/**
 * The cluster DNS's serving side for real: UDP and TCP sockets on loopback, answered to `dig`
 * and raw sockets, forwarding to a fake upstream resolver that is also on loopback.
 */

const HOST = "127.0.0.1";
const NAME = "web.shop.ployz.internal";
const FORTY = Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`);
const projection = aProjection(aRoutingRecord({ service: "web", ports: [{ container: 8080, protocol: "tcp" }], backends: FORTY.map((address, i) => aBackend(i, { address })) }));

/** A pino logger whose lines the test can read. */
function capturedLog() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function serve(options: Partial<ClusterDnsOptions> = {}) {
  const port = await freeDnsPort(HOST);
  const dns = new ClusterDns({ port, upstream: undefined, ttl: dnsTtlSeconds(500), trusts: () => true, log: capturedLog().log, ...options });
  await dns.listenOn([HOST]);
  dns.apply(projection);
  running.push(dns);
  return { dns, port };
}

/** Sends length-prefixed messages on one TCP connection at once; resolves with the replies in order. */
async function overOneTcpConnection(port: number, messages: Uint8Array[], expected = messages.length): Promise<Uint8Array[]> {
  const socket = connect({ host: HOST, port });
  const replies: Uint8Array[] = [];
  let pending = Buffer.alloc(0);
  return await new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("connect", () => socket.write(Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m])))));
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length >= expected) {
        socket.destroy();
        resolve(replies);
      }
    });
  });
}

describe("the cluster DNS over UDP and TCP", () => {
  it("answers 40 backends: a classic UDP reply carries TC and what fits in 512 bytes, TCP carries all 40", async () => {
    const { port } = await serve();

    const udp = await dig(HOST, port, NAME, "A", ["+notcp", "+ignore", "+noedns"]);
    expect(udp.flags).toContain("tc");
    expect(udp.size).toBeLessThanOrEqual(512);
    expect(udp.answers.length).toBeGreaterThanOrEqual(25); // compressed: 16 bytes a record
    expect(udp.answers.length).toBeLessThan(40);
    expect(udp.answers.every((a) => FORTY.includes(a.data))).toBe(true);

    const tcp = await dig(HOST, port, NAME, "A", ["+tcp", "+noedns"]);
    expect(tcp.flags).not.toContain("tc");
    expect(tcp.answers.map((a) => a.data).sort()).toEqual([...FORTY].sort());
  });

  it("lets dig retry a truncated reply over TCP on its own, and fits all 40 in one UDP reply when EDNS offers 1232 bytes", async () => {
    const { port } = await serve();
    const retried = await dig(HOST, port, NAME, "A", ["+noedns"]);
    expect(retried.retriedOverTcp).toBe(true);
    expect(retried.answers).toHaveLength(40);

    const edns = await dig(HOST, port, NAME, "A", ["+notcp", "+ignore", "+bufsize=1232"]);
    expect(edns.flags).not.toContain("tc");
    expect(edns.answers).toHaveLength(40);
    const small = await dig(HOST, port, NAME, "A", ["+notcp", "+ignore", "+bufsize=512"]);
    expect(small.flags).toContain("tc");
  });

  it("gives answers no TTL longer than the drain (500 ms: 0, nothing cached), SRV records with their ports, NXDOMAIN for unknown names", async () => {
    const { port } = await serve();
    const a = await dig(HOST, port, NAME, "A", ["+tcp"]);
    expect(a.answers.every((r) => r.ttl === 0)).toBe(true);
    const srv = await dig(HOST, port, NAME, "SRV", ["+tcp"]);
    expect(srv.answers).toHaveLength(40);
    expect(srv.answers[0]!.data).toMatch(/^0 1 8080 \d+\.web\.shop\.ployz\.internal\.$/);
    expect((await dig(HOST, port, "nosuch.shop.ployz.internal")).status).toBe("NXDOMAIN");
  });

  it("answers from the projection it was last given", async () => {
    const { dns, port } = await serve();
    dns.apply(aProjection(aRoutingRecord({ service: "web", backends: [aBackend(0, { address: "10.9.9.9" })] })));
    expect((await dig(HOST, port, NAME)).answers.map((a) => a.data)).toEqual(["10.9.9.9"]);
    dns.apply(aProjection());
    expect((await dig(HOST, port, NAME)).status).toBe("NXDOMAIN");
  });

  it("answers several queries on one TCP connection, in order, and FORMERR to a malformed one among them", async () => {
    const { port } = await serve();
    const malformed = new Uint8Array([0, 3, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    const replies = (await overOneTcpConnection(port, [aQuery(NAME, { id: 1 }), malformed, aQuery("nosuch.ployz.internal", { id: 2 })])).map(decodeReply);
    expect(replies.map((r) => [r.id, r.rcode, r.answers.length])).toEqual([
      [1, "NOERROR", 40],
      [3, "FORMERR", 0],
      [2, "NXDOMAIN", 0],
    ]);
  });
});

describe("forwarding names outside the cluster zone", () => {
  let upstream: StaticDns;
  beforeAll(async () => {
    upstream = await startStaticDns({ addresses: ["192.0.2.7"], truncateOverUdp: ["big.example"] });
  });
  afterAll(async () => {
    await upstream?.close();
  });

  it("forwards a trusted asker's query to the upstream, over UDP, and over TCP when the upstream truncates", async () => {
    const { port } = await serve({ upstream: { host: upstream.host, port: upstream.port } });
    const before = { ...upstream.received };

    const plain = await dig(HOST, port, "www.example");
    expect(plain).toMatchObject({ status: "NOERROR", answers: [{ name: "www.example.", data: "192.0.2.7" }] });
    expect(plain.flags).toContain("ra");
    expect(upstream.received.udp).toBe(before.udp + 1);

    const big = await dig(HOST, port, "big.example");
    expect(big.retriedOverTcp).toBe(true);
    expect(big.answers.map((a) => a.data)).toEqual(["192.0.2.7"]);
    expect(upstream.received.tcp).toBe(before.tcp + 1);
  });

  it("refuses a source it does not trust, for the zone and for other names, and never asks the upstream for it", async () => {
    const { port } = await serve({ upstream: { host: upstream.host, port: upstream.port }, trusts: () => false });
    const before = upstream.received.udp + upstream.received.tcp;
    for (const [name, flags] of [[NAME, []], ["www.example", []], ["www.example", ["+tcp"]]] as const) {
      const reply = await dig(HOST, port, name, "A", [...flags]);
      expect(reply.status, `${name} ${flags.join(" ")}`).toBe("REFUSED");
      expect(reply.answers).toEqual([]);
      expect(reply.flags).not.toContain("ra");
    }
    expect(upstream.received.udp + upstream.received.tcp).toBe(before);
  });

  it("waits for a trust decision that needs dockerd, and answers by it", async () => {
    const asked: string[] = [];
    const { port } = await serve({
      trusts: (address) => {
        asked.push(address);
        return new Promise<boolean>((resolve) => setImmediate(() => resolve(asked.length === 1)));
      },
    });
    expect((await dig(HOST, port, NAME, "A", ["+tcp"])).status).toBe("NOERROR");
    expect((await dig(HOST, port, NAME, "A", ["+tcp"])).status).toBe("REFUSED");
    expect(asked).toEqual([HOST, HOST]);
  });

  it("answers SERVFAIL when the upstream does not answer, warns once however many fail, and says when it answers again", async () => {
    const quiet = await startStaticDns({ silent: true });
    running.push(quiet);
    const { log, warnings, lines } = capturedLog();
    const { port } = await serve({ upstream: { host: quiet.host, port: quiet.port }, log });

    for (const name of ["a.example", "b.example"]) expect((await dig(HOST, port, name, "A", ["+time=4"])).status).toBe("SERVFAIL");
    expect((await dig(HOST, port, "c.example", "A", ["+tcp", "+time=4"])).status).toBe("SERVFAIL");
    expect(warnings()).toEqual(["the host's resolver fails; forwarded queries get SERVFAIL until it answers again"]);

    quiet.setSilent(false);
    expect((await dig(HOST, port, "d.example")).status).toBe("NOERROR");
    expect(lines.filter((l) => l.msg === "the host's resolver answers again")).toHaveLength(1);
  });

  it("answers SERVFAIL at once when nothing listens where the upstream should be", async () => {
    const closedPort = await freeDnsPort(HOST);
    const { port } = await serve({ upstream: { host: HOST, port: closedPort } });
    expect((await dig(HOST, port, "www.example")).status).toBe("SERVFAIL");
    expect((await dig(HOST, port, "www.example", "A", ["+tcp"])).status).toBe("SERVFAIL");
  });
});

describe("listening", () => {
  it("fails with PortInUseError when the port is taken, naming the address", async () => {
    const { port } = await serve();
    const second = new ClusterDns({ port, upstream: undefined, ttl: 0, trusts: () => true, log: capturedLog().log });
    await expect(second.listenOn([HOST])).rejects.toThrow(PortInUseError);
    await expect(second.listenOn([HOST])).rejects.toThrow(`127.0.0.1:${port}`);
  });

  it("fails with DnsListenError for an address that is not this machine's", async () => {
    const port = await freeDnsPort(HOST);
    // TEST-NET-3: never assigned to an interface here; bind fails without sending anything.
    await expect(listenDns({ host: "203.0.113.77", port, handle: () => undefined, onError: () => undefined })).rejects.toThrow(DnsListenError);
  });

  it("serves on every address it is told, and frees them when closed", async () => {
    const port = await freeDnsPort(HOST);
    const dns = new ClusterDns({ port, upstream: undefined, ttl: 0, trusts: () => true, log: capturedLog().log });
    expect(await dns.listenOn([HOST, "127.0.0.2"])).toEqual([HOST, "127.0.0.2"]);
    expect(await dns.listenOn([HOST, "127.0.0.2"])).toEqual([]);
    dns.apply(projection);
    expect((await dig("127.0.0.2", port, NAME, "A", ["+tcp"])).answers).toHaveLength(40);
    await dns.close();
    const again = await listenDns({ host: "127.0.0.2", port, handle: () => undefined, onError: () => undefined });
    await again.close();
  });
});

describe("an upstream that is the cluster DNS itself", () => {
  it("is never forwarded to (it would loop): SERVFAIL, and a warning", async () => {
    const port = await freeDnsPort(HOST);
    const { log, warnings } = capturedLog();
    const dns = new ClusterDns({ port, upstream: { host: HOST, port }, ttl: 0, trusts: () => true, log });
    running.push(dns);
    await dns.listenOn([HOST]);
    expect((await dig(HOST, port, "www.example")).status).toBe("SERVFAIL");
    expect((await dig(HOST, port, "www.example", "A", ["+tcp"])).status).toBe("SERVFAIL");
    expect(warnings()).toEqual(["the host's resolver fails; forwarded queries get SERVFAIL until it answers again"]);
  });
});
