import { compareText } from "./compare.ts";
import { blocksOverlap, parseIpv4Block, type Ipv4Block } from "./ipv4.ts";
import type { MachineRecord } from "./machine.ts";
import { canonicalIpv6, isWireGuardKey, overlayAddress } from "./overlay-address.ts";
import { parseWorkloadSubnet } from "./workload-subnet.ts";

/** Keepalive every peer gets: keeps NAT mappings open and handshakes fresh (WireGuard's usual 25 s). */
export const PERSISTENT_KEEPALIVE_S = 25;

/**
 * A handshake older than this means the peer is not talking to us: WireGuard renews keys every
 * 2 min while traffic (or the keepalive) flows, and refuses keys older than 180 s (REJECT_AFTER_TIME).
 */
export const HANDSHAKE_STALE_AFTER_MS = 180_000;

/** One WireGuard peer of this machine, derived from another member's record. */
export interface WireGuardPeer {
  machineId: string;
  name: string;
  publicKey: string;
  /** `host:port` on the underlay (IPv6 hosts in brackets). */
  endpoint: string;
  overlayIp: string;
  subnet: string;
  /** Its overlay /128 and its workload subnet: what WireGuard routes to it, and accepts from it. */
  allowedIps: string[];
  persistentKeepaliveS: number;
}

/** A member that is not a peer, and why (shown by `machine ls`, never silent). */
export interface IgnoredMember {
  machineId: string;
  reason: string;
}

/** The peers this machine should have, and the members left out. */
export interface PeerPlan {
  peers: WireGuardPeer[];
  ignored: IgnoredMember[];
}

/** What this machine itself holds, so no peer may claim it. */
export interface MeshSelf {
  machineId: string;
  publicKey: string;
  subnet?: string;
}

/**
 * The peer set that membership asks for. Removed members are never peers; a member without a
 * WireGuard key, endpoint, overlay address or subnet yet (still joining) is left out with the
 * reason; so is one whose overlay address does not derive from its key, and one that claims an
 * address, key or subnet that this machine or an earlier member (by id) holds — WireGuard would
 * otherwise silently move the route to the later peer.
 */
export function planPeers(members: readonly MachineRecord[], self: MeshSelf): PeerPlan {
  const peers: WireGuardPeer[] = [];
  const ignored: IgnoredMember[] = [];
  const ownSubnet = self.subnet === undefined ? undefined : parseIpv4Block(self.subnet);
  const held: Array<{ machineId: string; publicKey: string; overlayIp: string; subnet: Ipv4Block | undefined }> = [
    { machineId: self.machineId, publicKey: self.publicKey, overlayIp: isWireGuardKey(self.publicKey) ? overlayAddress(self.publicKey) : "", subnet: ownSubnet },
  ];
  for (const member of [...members].sort((a, b) => compareText(a.id, b.id))) {
    if (member.id === self.machineId) continue;
    const reason = unusable(member);
    if (reason !== undefined) {
      ignored.push({ machineId: member.id, reason });
      continue;
    }
    const { publicKey, endpoint } = member.wireguard!;
    const overlayIp = canonicalIpv6(member.overlayIp!)!;
    const subnet = parseWorkloadSubnet(member.subnet!)!;
    const clash = held.find((h) => h.publicKey === publicKey || h.overlayIp === overlayIp || (h.subnet !== undefined && blocksOverlap(h.subnet, subnet)));
    if (clash) {
      const what = clash.publicKey === publicKey ? "WireGuard key" : clash.overlayIp === overlayIp ? "overlay address" : `subnet (${member.subnet} overlaps)`;
      ignored.push({ machineId: member.id, reason: `its ${what} is already held by machine ${clash.machineId}` });
      continue;
    }
    held.push({ machineId: member.id, publicKey, overlayIp, subnet });
    peers.push({
      machineId: member.id,
      name: member.name,
      publicKey,
      endpoint,
      overlayIp,
      subnet: member.subnet!,
      allowedIps: [`${overlayIp}/128`, member.subnet!],
      persistentKeepaliveS: PERSISTENT_KEEPALIVE_S,
    });
  }
  return { peers, ignored };
}

/** Why a member cannot be a peer, or undefined if it can. */
function unusable(member: MachineRecord): string | undefined {
  if (member.state === "removed") return "removed from the cluster";
  if (!member.wireguard) return "no WireGuard key yet";
  if (member.overlayIp === undefined) return "no overlay address yet";
  if (member.subnet === undefined) return "no workload subnet yet";
  const { publicKey, endpoint } = member.wireguard;
  if (!isWireGuardKey(publicKey)) return "its WireGuard public key is malformed";
  if (canonicalIpv6(member.overlayIp) !== overlayAddress(publicKey)) return `its overlay address ${member.overlayIp} does not derive from its key (${overlayAddress(publicKey)})`;
  if (!parseWorkloadSubnet(member.subnet)) return `its workload subnet ${member.subnet} is not an IPv4 block`;
  if (!isEndpoint(endpoint)) return `its endpoint ${JSON.stringify(endpoint)} is not host:port`;
  return undefined;
}

/** `host:port` or `[ipv6]:port`, port 1–65535. */
export function isEndpoint(endpoint: string): boolean {
  return parseEndpoint(endpoint) !== undefined;
}

/** `host:port` or `[ipv6]:port` (port 1–65535), split; undefined when it is neither. */
export function parseEndpoint(endpoint: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(endpoint);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

/** How the interface must change to hold `desired` instead of `current`. */
export interface PeerDiff {
  added: WireGuardPeer[];
  /** Same machine, something else changed (endpoint, allowed IPs, even its key). */
  changed: Array<{ from: WireGuardPeer; to: WireGuardPeer }>;
  removed: WireGuardPeer[];
}

/** The diff between two peer sets, matched by machine id; an empty diff means nothing to do. */
export function diffPeers(current: readonly WireGuardPeer[], desired: readonly WireGuardPeer[]): PeerDiff {
  const before = new Map(current.map((p) => [p.machineId, p]));
  const after = new Map(desired.map((p) => [p.machineId, p]));
  const diff: PeerDiff = { added: [], changed: [], removed: [] };
  for (const peer of desired) {
    const old = before.get(peer.machineId);
    if (!old) diff.added.push(peer);
    else if (!samePeer(old, peer)) diff.changed.push({ from: old, to: peer });
  }
  for (const peer of current) if (!after.has(peer.machineId)) diff.removed.push(peer);
  return diff;
}

export function isEmptyDiff(diff: PeerDiff): boolean {
  return diff.added.length === 0 && diff.changed.length === 0 && diff.removed.length === 0;
}

/** What the interface holds for a peer (its display name aside). */
function samePeer(a: WireGuardPeer, b: WireGuardPeer): boolean {
  return (
    a.publicKey === b.publicKey &&
    a.endpoint === b.endpoint &&
    a.persistentKeepaliveS === b.persistentKeepaliveS &&
    a.allowedIps.length === b.allowedIps.length &&
    a.allowedIps.every((ip, i) => ip === b.allowedIps[i])
  );
}

/** One line per change, for the log and `--preview`-style output. */
export function describePeerDiff(diff: PeerDiff): string[] {
  return [
    ...diff.added.map((p) => `add peer ${p.name} (${p.machineId}) at ${p.endpoint}: ${p.allowedIps.join(", ")}`),
    ...diff.changed.map(({ from, to }) => `change peer ${to.name} (${to.machineId}): ${describeChange(from, to)}`),
    ...diff.removed.map((p) => `remove peer ${p.name} (${p.machineId})`),
  ];
}

function describeChange(from: WireGuardPeer, to: WireGuardPeer): string {
  const parts: string[] = [];
  if (from.publicKey !== to.publicKey) parts.push("new key");
  if (from.endpoint !== to.endpoint) parts.push(`endpoint ${from.endpoint} → ${to.endpoint}`);
  if (from.allowedIps.join(",") !== to.allowedIps.join(",")) parts.push(`allowed IPs ${to.allowedIps.join(", ")}`);
  if (from.persistentKeepaliveS !== to.persistentKeepaliveS) parts.push(`keepalive ${to.persistentKeepaliveS} s`);
  return parts.join("; ") || "name";
}
