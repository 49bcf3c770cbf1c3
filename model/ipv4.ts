/** IPv4 addresses and CIDR blocks as numbers: the arithmetic subnets and the lab's underlay need. Pure. */

/** An IPv4 block: its first address (as an unsigned 32-bit number) and its prefix length. */
export interface Ipv4Block {
  base: number;
  bits: number;
}

/** The address as an unsigned 32-bit number, or undefined if `text` is not a dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** `a.b.c.d/n` whose address is the block's first (no host bits set), or undefined. */
export function parseIpv4Block(text: string): Ipv4Block | undefined {
  const [address, bitsText, extra] = text.split("/");
  if (address === undefined || bitsText === undefined || extra !== undefined || !/^[0-9]{1,2}$/.test(bitsText)) return undefined;
  const base = parseIpv4(address);
  const bits = Number(bitsText);
  if (base === undefined || bits > 32) return undefined;
  if (base % blockSize(bits) !== 0) return undefined;
  return { base, bits };
}

export function formatIpv4Block(block: Ipv4Block): string {
  return `${formatIpv4(block.base)}/${block.bits}`;
}

/** How many addresses a block of this prefix length holds. */
export function blockSize(bits: number): number {
  return 2 ** (32 - bits);
}

/** True when the two blocks share at least one address. */
export function blocksOverlap(a: Ipv4Block, b: Ipv4Block): boolean {
  return a.base < b.base + blockSize(b.bits) && b.base < a.base + blockSize(a.bits);
}

/** True when `inner` lies wholly inside `outer`. */
export function blockContains(outer: Ipv4Block, inner: Ipv4Block): boolean {
  return inner.bits >= outer.bits && inner.base >= outer.base && inner.base + blockSize(inner.bits) <= outer.base + blockSize(outer.bits);
}

/** The RFC 1918 private ranges. */
export const PRIVATE_IPV4_BLOCKS: readonly Ipv4Block[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((b) => parseIpv4Block(b)!);

/** The `n`-th address of a block (0 = its first). */
export function addressInBlock(block: Ipv4Block, n: number): string {
  return formatIpv4(block.base + n);
}
