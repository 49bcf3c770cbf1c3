import { createHash } from "node:crypto";
import { InvalidArgumentError } from "./errors.ts";

/**
 * The overlay: every machine's WireGuard interface holds one IPv6 address, a unique local address
 * (RFC 4193) inside one fixed /48 for every Ployz cluster. Its 40-bit global ID spells "ployz" in
 * ASCII (0x70 0x6c 0x6f 0x79 0x7a); clusters never share a WireGuard mesh, so one prefix is enough.
 */
export const OVERLAY_PREFIX = "fd70:6c6f:797a::/48";
const PREFIX_BYTES = [0xfd, 0x70, 0x6c, 0x6f, 0x79, 0x7a];

/** Domain separation: this hash is only ever an overlay address. Change it and every address moves. */
const DERIVATION_LABEL = "ployz overlay address v1\0";

/** True for a WireGuard key as `wg` prints it: 32 bytes in standard base64 (44 characters). */
export function isWireGuardKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(key);
}

/**
 * The machine's overlay address, derived from its WireGuard public key: the /48 prefix followed by
 * the first 80 bits of SHA-256(label ‖ key bytes). Deterministic (any machine computes any
 * other's address from its key, so a record's address is checked, never trusted) and
 * collision-resistant: for 200 machines the chance that two share an address is about 2⁻⁶⁵;
 * a collision would take a second preimage of SHA-256 truncated to 80 bits.
 */
export function overlayAddress(publicKey: string): string {
  if (!isWireGuardKey(publicKey)) throw new InvalidArgumentError(`not a WireGuard public key: ${JSON.stringify(publicKey.slice(0, 60))}`);
  const digest = createHash("sha256").update(DERIVATION_LABEL).update(Buffer.from(publicKey, "base64")).digest();
  return formatIpv6([...PREFIX_BYTES, ...digest.subarray(0, 10)]);
}

/** True when `address` lies in the overlay prefix. */
export function inOverlay(address: string): boolean {
  const bytes = parseIpv6(address);
  return bytes !== undefined && PREFIX_BYTES.every((b, i) => bytes[i] === b);
}

/** The canonical text of an IPv6 address (RFC 5952: lower case, longest zero run as `::`), or undefined. */
export function canonicalIpv6(address: string): string | undefined {
  const bytes = parseIpv6(address);
  return bytes && formatIpv6(bytes);
}

/** 16 bytes, or undefined when `text` is not an IPv6 address (no zone, no embedded IPv4). */
export function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.split("::").length > 2) return undefined;
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const before = groups(head);
  const after = groups(tail);
  const missing = 8 - before.length - after.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...before, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...after];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.flatMap((g) => {
    const value = Number.parseInt(g, 16);
    return [value >> 8, value & 0xff];
  });
}

function formatIpv6(bytes: readonly number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
