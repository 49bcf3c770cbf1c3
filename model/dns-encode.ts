import type { DnsAnswer } from "./dns-zone.ts";
import { DNS_CLASS, DNS_TYPE, type DnsQuestion } from "./dns-query.ts";

/**
 * Writing a DNS reply (RFC 1035 §4.1) with name compression (§4.1.4) and truncation: the
 * `dns-packet` encoder writes every name in full, so 13 A records already overflow 512 bytes.
 * Here an owner name is a 2-byte pointer to the question; SRV targets stay uncompressed, as
 * RFC 2782 requires. A reply that does not fit `maxBytes` keeps as many whole answers as fit and
 * sets TC, so a client that reads only 512 bytes still parses it and one that can retries over TCP.
 */

/** The UDP payload size this server offers over EDNS (the DNS Flag Day 2020 value). */
export const SERVER_UDP_PAYLOAD = 1232;
/** Without EDNS a UDP reply is at most 512 bytes (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_PAYLOAD = 512;
/** A TCP message is at most 65535 bytes: its length is a 16-bit prefix. */
export const MAX_TCP_PAYLOAD = 65_535;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export type RcodeName = keyof typeof RCODE;

export interface DnsReply {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  authoritative: boolean;
  recursionAvailable: boolean;
  rcode: RcodeName;
  /** Echoed byte for byte; absent only when the query's question could not be read. */
  question?: DnsQuestion;
  answers: DnsAnswer[];
  /** Answer an EDNS query with an OPT record of our own. */
  edns: boolean;
}

export interface EncodedReply {
  bytes: Uint8Array;
  /** TC: some answers were left out to fit. */
  truncated: boolean;
  /** How many answers the bytes hold. */
  answers: number;
}

const HEADER_BYTES = 12;
const OPT_BYTES = 11;
const MAX_POINTER = 0x3fff;

/** Encodes `reply` in at most `maxBytes` (never less than a header, the question and the OPT record). */
export function encodeReply(reply: DnsReply, maxBytes: number): EncodedReply {
  const questionBytes = reply.question?.raw.length ?? 0;
  const upperBound = HEADER_BYTES + questionBytes + reply.answers.reduce((sum, answer) => sum + answerUpperBound(answer), 0) + OPT_BYTES;
  const buf = new Uint8Array(upperBound);
  const view = new DataView(buf.buffer);
  const names = new Map<string, number>();

  let offset = HEADER_BYTES;
  if (reply.question) {
    buf.set(reply.question.raw, offset);
    remember(names, reply.question.labels, offset);
    offset += questionBytes;
  }
  const ends: number[] = [];
  for (const answer of reply.answers) {
    offset = writeName(buf, offset, answer.name, names);
    view.setUint16(offset, answer.type === "A" ? DNS_TYPE.A : DNS_TYPE.SRV);
    view.setUint16(offset + 2, DNS_CLASS.IN);
    view.setUint32(offset + 4, answer.ttl);
    const rdata = offset + 10;
    offset = answer.type === "A" ? writeAddress(buf, rdata, answer.data) : writeSrv(buf, view, rdata, answer.data);
    view.setUint16(rdata - 2, offset - rdata);
    ends.push(offset);
  }

  // Whole answers only: every pointer points backwards, so any prefix of the answers is valid.
  const room = Math.max(maxBytes, HEADER_BYTES + questionBytes + OPT_BYTES) - (reply.edns ? OPT_BYTES : 0);
  let kept = ends.length;
  while (kept > 0 && ends[kept - 1]! > room) kept--;
  const truncated = kept < ends.length;
  let end = kept > 0 ? ends[kept - 1]! : HEADER_BYTES + questionBytes;

  const rcode = RCODE[reply.rcode];
  if (reply.edns) {
    // OPT: root name, type 41, class = our UDP payload size, TTL = extended rcode | version 0 | flags.
    buf[end] = 0;
    view.setUint16(end + 1, DNS_TYPE.OPT);
    view.setUint16(end + 3, SERVER_UDP_PAYLOAD);
    view.setUint32(end + 5, (rcode >> 4) << 24);
    view.setUint16(end + 9, 0);
    end += OPT_BYTES;
  }
  view.setUint16(0, reply.id);
  view.setUint16(
    2,
    0x8000 |
      ((reply.opcode & 0xf) << 11) |
      (reply.authoritative ? 0x0400 : 0) |
      (truncated ? 0x0200 : 0) |
      (reply.recursionDesired ? 0x0100 : 0) |
      (reply.recursionAvailable ? 0x0080 : 0) |
      (rcode & 0xf),
  );
  view.setUint16(4, reply.question ? 1 : 0);
  view.setUint16(6, kept);
  view.setUint16(8, 0);
  view.setUint16(10, reply.edns ? 1 : 0);
  return { bytes: buf.subarray(0, end), truncated, answers: kept };
}

/** Bytes an answer takes at most (its names written in full). */
function answerUpperBound(answer: DnsAnswer): number {
  return nameBytes(answer.name) + 10 + (answer.type === "A" ? 4 : 6 + nameBytes(answer.data.target));
}

/** A dotted name's length on the wire, at most: one length byte per label, and the root. */
function nameBytes(name: string): number {
  return name.length + 2;
}

/** Our own names (answers): lower case, dot-separated, ASCII; the root is `""` or `"."`. */
function splitName(name: string): string[] {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  if (trimmed === "") return [];
  const labels = trimmed.split(".");
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || !/^[\x21-\x7e]+$/.test(label)) throw new RangeError(`cannot encode DNS name ${JSON.stringify(name)}: bad label ${JSON.stringify(label)}`);
  }
  return labels;
}

/** Writes `name`, ending in a pointer to the longest suffix already written; remembers the new suffixes. */
function writeName(buf: Uint8Array, start: number, name: string, names: Map<string, number>): number {
  // The common case, an owner name that is the question's: a pointer, without splitting it.
  const whole = names.get(name.endsWith(".") ? name.slice(0, -1) : name);
  if (whole !== undefined && name === name.toLowerCase()) {
    buf[start] = 0xc0 | (whole >> 8);
    buf[start + 1] = whole & 0xff;
    return start + 2;
  }
  const labels = splitName(name);
  let offset = start;
  for (let i = 0; i < labels.length; i++) {
    const pointer = names.get(suffixKey(labels, i));
    if (pointer !== undefined) {
      buf[offset] = 0xc0 | (pointer >> 8);
      buf[offset + 1] = pointer & 0xff;
      return offset + 2;
    }
    if (offset <= MAX_POINTER) names.set(suffixKey(labels, i), offset);
    offset = writeLabel(buf, offset, labels[i]!);
  }
  buf[offset] = 0;
  return offset + 1;
}

/** Writes `name` in full and remembers nothing (RFC 2782: an SRV target is never compressed). */
function writeUncompressedName(buf: Uint8Array, start: number, name: string): number {
  let offset = start;
  for (const label of splitName(name)) offset = writeLabel(buf, offset, label);
  buf[offset] = 0;
  return offset + 1;
}

function writeLabel(buf: Uint8Array, offset: number, label: string): number {
  buf[offset] = label.length;
  for (let j = 0; j < label.length; j++) buf[offset + 1 + j] = label.charCodeAt(j);
  return offset + 1 + label.length;
}

/** The question's suffixes, at their offsets (its labels are parsed, lower case). */
function remember(names: Map<string, number>, labels: string[], start: number): void {
  let offset = start;
  for (let i = 0; i < labels.length && offset <= MAX_POINTER; i++) {
    names.set(suffixKey(labels, i), offset);
    offset += 1 + wireLength(labels[i]!);
  }
}

/** A parsed label's length on the wire (escapes `\.` and `\\` are one byte). */
function wireLength(label: string): number {
  return label.replace(/\\(.)/g, "$1").length;
}

function suffixKey(labels: string[], from: number): string {
  return labels.slice(from).join(".").toLowerCase();
}

function writeAddress(buf: Uint8Array, offset: number, address: string): number {
  let part = 0;
  let digits = 0;
  let at = offset;
  for (let i = 0; i <= address.length; i++) {
    const c = i < address.length ? address.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || at === offset + 4) throw new RangeError(`not an IPv4 address: ${JSON.stringify(address)}`);
      buf[at++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      digits++;
    } else {
      throw new RangeError(`not an IPv4 address: ${JSON.stringify(address)}`);
    }
  }
  if (at !== offset + 4) throw new RangeError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return at;
}

function writeSrv(buf: Uint8Array, view: DataView, offset: number, data: Extract<DnsAnswer, { type: "SRV" }>["data"]): number {
  view.setUint16(offset, data.priority);
  view.setUint16(offset + 2, data.weight);
  view.setUint16(offset + 4, data.port);
  return writeUncompressedName(buf, offset + 6, data.target);
}
