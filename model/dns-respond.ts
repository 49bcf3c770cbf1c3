import { CLASSIC_UDP_PAYLOAD, encodeReply, MAX_TCP_PAYLOAD, SERVER_UDP_PAYLOAD, type DnsReply, type RcodeName } from "./dns-encode.ts";
import { DNS_CLASS, DNS_TYPE, parseDnsQuery, type DnsQuery } from "./dns-query.ts";
import { answerQuestion, inClusterZone, type DnsAnswer } from "./dns-zone.ts";
import type { RoutingProjection } from "./routing.ts";

/** Who asks, as the listener saw it. */
export interface DnsAsker {
  transport: "udp" | "tcp";
  /** A source that may use this DNS at all: loopback, this host, or one of the cluster's containers. */
  trusted: boolean;
}

/** What the answers come from. */
export interface DnsZoneContext {
  projection: RoutingProjection;
  /** Seconds (see `dnsTtlSeconds`: never longer than the drain). */
  ttl: number;
  /** Is there an upstream resolver for names outside the cluster zone? */
  canForward: boolean;
  /**
   * Where the answer list starts (a counter the server advances per query): clients that cannot
   * retry a truncated reply over TCP still spread over every backend, a window at a time.
   */
  rotation: number;
}

/** What to do with one message. */
export type DnsDecision =
  | { type: "reply"; bytes: Uint8Array; rcode: RcodeName; truncated: boolean; answers: number }
  /** A trusted asker's name outside the zone: pass the query as it came to the upstream resolver. */
  | { type: "forward"; query: DnsQuery }
  /** Not a query (too short, or a response): no reply at all. */
  | { type: "drop"; reason: string };

/**
 * The cluster DNS as a pure function: one message in, one decision out. `*.ployz.internal`
 * is answered from the routing projection; other names are forwarded for trusted askers;
 * everyone else gets REFUSED for everything. UDP replies fit 512 bytes, or the EDNS size the
 * asker offers (at most 1232), else they carry TC and as many whole answers as fit.
 */
export function respondToQuery(message: Uint8Array, asker: DnsAsker, zone: DnsZoneContext): DnsDecision {
  const parsed = parseDnsQuery(message);
  if (parsed.kind === "ignored") return { type: "drop", reason: parsed.reason };
  if (parsed.kind === "malformed") {
    const { id, opcode, recursionDesired } = parsed;
    const rcode = asker.trusted ? "FORMERR" : "REFUSED";
    return reply({ id, opcode, recursionDesired, authoritative: false, recursionAvailable: false, rcode, answers: [], edns: false }, asker.transport, undefined);
  }
  const { query } = parsed;
  const base = (rcode: RcodeName, extra: Partial<DnsReply> = {}) =>
    reply(
      {
        id: query.id,
        opcode: query.opcode,
        recursionDesired: query.recursionDesired,
        authoritative: false,
        recursionAvailable: asker.trusted && zone.canForward,
        rcode,
        question: query.question,
        answers: [],
        edns: query.edns !== undefined,
        ...extra,
      },
      asker.transport,
      query.edns?.udpSize,
    );
  if (!asker.trusted) return base("REFUSED");
  if (query.opcode !== 0) return base("NOTIMP");
  if (query.edns && query.edns.version > 0) return base("BADVERS");
  const { question } = query;
  if (!inClusterZone(question.name)) return zone.canForward ? { type: "forward", query } : base("REFUSED");
  if (question.class !== DNS_CLASS.IN && question.class !== DNS_CLASS.ANY) return base("REFUSED");
  const result = answerQuestion(zone.projection, question.name, typeName(question.type), zone.ttl);
  return base(result.rcode, { authoritative: true, answers: rotate(result.answers, zone.rotation) });
}

/** SERVFAIL for a query that could not be answered (the upstream failed or timed out). */
export function serverFailure(query: DnsQuery, transport: DnsAsker["transport"]): Uint8Array {
  const decision = reply(
    {
      id: query.id,
      opcode: query.opcode,
      recursionDesired: query.recursionDesired,
      authoritative: false,
      recursionAvailable: true,
      rcode: "SERVFAIL",
      question: query.question,
      answers: [],
      edns: query.edns !== undefined,
    },
    transport,
    query.edns?.udpSize,
  );
  return decision.bytes;
}

/** The largest reply the asker can take: 64 KiB over TCP; over UDP 512, or its EDNS size up to ours. */
export function replyLimit(transport: DnsAsker["transport"], ednsUdpSize: number | undefined): number {
  if (transport === "tcp") return MAX_TCP_PAYLOAD;
  if (ednsUdpSize === undefined) return CLASSIC_UDP_PAYLOAD;
  return Math.min(Math.max(ednsUdpSize, CLASSIC_UDP_PAYLOAD), SERVER_UDP_PAYLOAD);
}

function reply(message: DnsReply, transport: DnsAsker["transport"], ednsUdpSize: number | undefined): Extract<DnsDecision, { type: "reply" }> {
  const encoded = encodeReply(message, replyLimit(transport, ednsUdpSize));
  return { type: "reply", bytes: encoded.bytes, rcode: message.rcode, truncated: encoded.truncated, answers: encoded.answers };
}

function typeName(type: number): string {
  if (type === DNS_TYPE.A) return "A";
  if (type === DNS_TYPE.SRV) return "SRV";
  if (type === DNS_TYPE.AAAA) return "AAAA";
  return `TYPE${type}`;
}

function rotate(answers: DnsAnswer[], by: number): DnsAnswer[] {
  if (answers.length < 2) return answers;
  const start = ((by % answers.length) + answers.length) % answers.length;
  return [...answers.slice(start), ...answers.slice(0, start)];
}
