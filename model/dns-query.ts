/**
 * Reading a DNS query off the wire (RFC 1035 §4.1, EDNS RFC 6891): the header, the one question
 * (kept byte for byte, so every reply echoes it exactly) and the OPT record. Pure; every length
 * is checked against the buffer, so no input can make it read out of bounds.
 */

/** Record types and classes the cluster DNS knows by number. */
export const DNS_TYPE = { A: 1, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const DNS_CLASS = { IN: 1, ANY: 255 } as const;

const HEADER_BYTES = 12;
const MAX_NAME_BYTES = 255;

export interface DnsQuestion {
  /**
   * The name in lower case, dot-separated, without the trailing dot (`""` for the root). A dot
   * or backslash inside a label is escaped with a backslash, so it can never pass for two labels.
   */
  name: string;
  /** The labels as `name` spells them (lower case, escaped). */
  labels: string[];
  type: number;
  class: number;
  /** The question section exactly as sent (name, type, class). */
  raw: Uint8Array;
}

export interface DnsQuery {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  question: DnsQuestion;
  /** Present when the query carries an OPT record: the asker's UDP payload size and EDNS version. */
  edns?: { udpSize: number; version: number };
}

/** What a datagram or TCP frame turned out to be. */
export type ParsedQuery =
  | { kind: "query"; query: DnsQuery }
  /** A header we can answer to, with a body that is not a valid query: FORMERR. */
  | { kind: "malformed"; id: number; opcode: number; recursionDesired: boolean; reason: string }
  /** Not something to answer at all: too short for a header, or a response. */
  | { kind: "ignored"; reason: string };

/** Parses one DNS message that should be a query. */
export function parseDnsQuery(bytes: Uint8Array): ParsedQuery {
  if (bytes.length < HEADER_BYTES) return { kind: "ignored", reason: `${bytes.length} bytes: shorter than a DNS header` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = view.getUint16(0);
  const flags = view.getUint16(2);
  if (flags & 0x8000) return { kind: "ignored", reason: "a response, not a query" };
  const opcode = (flags >> 11) & 0xf;
  const recursionDesired = (flags & 0x0100) !== 0;
  const malformed = (reason: string): ParsedQuery => ({ kind: "malformed", id, opcode, recursionDesired, reason });
  const qdcount = view.getUint16(4);
  if (qdcount !== 1) return malformed(`${qdcount} questions; a query has exactly one`);

  const name = readQuestionName(bytes, HEADER_BYTES);
  if (typeof name === "string") return malformed(name);
  let offset = name.end;
  if (offset + 4 > bytes.length) return malformed("the question ends before its type and class");
  const type = view.getUint16(offset);
  const klass = view.getUint16(offset + 2);
  offset += 4;
  const question: DnsQuestion = { name: name.labels.join("."), labels: name.labels, type, class: klass, raw: bytes.subarray(HEADER_BYTES, offset) };

  // Answers and authority are skipped; the additional section may hold one OPT record.
  const others = view.getUint16(6) + view.getUint16(8);
  const additional = view.getUint16(10);
  let edns: DnsQuery["edns"];
  for (let i = 0; i < others + additional; i++) {
    const owner = skipName(bytes, offset);
    if (owner === undefined || owner + 10 > bytes.length) return malformed(`record ${i + 1} after the question is cut short`);
    const rtype = view.getUint16(owner);
    const rdlength = view.getUint16(owner + 8);
    if (owner + 10 + rdlength > bytes.length) return malformed(`record ${i + 1} after the question is cut short`);
    if (i >= others && rtype === DNS_TYPE.OPT) {
      if (edns) return malformed("more than one OPT record");
      if (owner !== offset + 1 || bytes[offset] !== 0) return malformed("the OPT record's name is not the root");
      const ttl = view.getUint32(owner + 4);
      edns = { udpSize: view.getUint16(owner + 2), version: (ttl >>> 16) & 0xff };
    }
    offset = owner + 10 + rdlength;
  }
  return { kind: "query", query: { id, opcode, recursionDesired, question, ...(edns ? { edns } : {}) } };
}

/** The question's name: plain labels only (a pointer has nothing to point to before it). */
function readQuestionName(bytes: Uint8Array, start: number): { labels: string[]; end: number } | string {
  const labels: string[] = [];
  let offset = start;
  for (;;) {
    if (offset >= bytes.length) return "the question's name runs past the end";
    const length = bytes[offset]!;
    if (length === 0) break;
    if (length > 63) return "the question's name holds a compression pointer or a reserved label type";
    if (offset + 1 + length > bytes.length) return "the question's name runs past the end";
    labels.push(labelText(bytes.subarray(offset + 1, offset + 1 + length)));
    offset += 1 + length;
    if (offset + 1 - start > MAX_NAME_BYTES) return `the question's name is longer than ${MAX_NAME_BYTES} bytes`;
  }
  return { labels, end: offset + 1 };
}

/** One label as text: ASCII letters lowered, every other byte kept as its own code point, `.` and `\` escaped. */
function labelText(label: Uint8Array): string {
  let text = "";
  for (const byte of label) {
    if (byte === 0x2e || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
    else text += String.fromCharCode(byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte);
  }
  return text;
}

/** The offset just past a name that may end in a compression pointer; undefined if it runs off the end. */
function skipName(bytes: Uint8Array, start: number): number | undefined {
  let offset = start;
  for (;;) {
    if (offset >= bytes.length) return undefined;
    const length = bytes[offset]!;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2 <= bytes.length ? offset + 2 : undefined;
    if (length > 63) return undefined;
    offset += 1 + length;
  }
}
