import type { PeerChange } from "../../machines/mesh-peer.ts";
import { canonicalIpv6 } from "../../model/overlay-address.ts";
import type { Commands } from "../host/commands.ts";

/**
 * Applies a peer change to the interface: one `wg set` for the whole diff (removed peers, a
 * changed key's old peer, then every added or changed peer with its endpoint, allowed IPs and
 * keepalive), then the interface's routes made exactly the union of every peer's allowed IPs
 * (`ip -batch`: added with `replace`, those of no peer deleted). Idempotent: applying the same
 * change twice changes nothing the second time.
 */
export async function applyWireGuardPeers(commands: Commands, change: PeerChange): Promise<void> {
  const name = change.interface.name;
  const args: string[] = [];
  for (const peer of change.diff.removed) args.push("peer", peer.publicKey, "remove");
  for (const { from, to } of change.diff.changed) if (from.publicKey !== to.publicKey) args.push("peer", from.publicKey, "remove");
  for (const peer of [...change.diff.added, ...change.diff.changed.map((c) => c.to)]) {
    args.push("peer", peer.publicKey, "endpoint", peer.endpoint, "allowed-ips", peer.allowedIps.join(","), "persistent-keepalive", String(peer.persistentKeepaliveS));
  }
  if (args.length > 0) await commands.run(["wg", "set", name, ...args]);
  await syncRoutes(commands, name, change.peers.flatMap((p) => p.allowedIps));
}

/** The routes through `name` become exactly `destinations` (kernel routes of its own addresses aside). */
export async function syncRoutes(commands: Commands, name: string, destinations: readonly string[]): Promise<void> {
  const wanted = new Set(destinations.map(normalize));
  const present = new Set([...(await routesVia(commands, name, "-4")), ...(await routesVia(commands, name, "-6"))]);
  const batch = [
    ...[...present].filter((d) => !wanted.has(d)).map((d) => `route del ${d} dev ${name}`),
    ...[...wanted].filter((d) => !present.has(d)).map((d) => `route replace ${d} dev ${name}`),
  ];
  if (batch.length > 0) await commands.run(["ip", "-batch", "-"], { input: `${batch.join("\n")}\n` });
}

/** Destinations of the routes this code manages on the interface (not the kernel's own). */
export async function routesVia(commands: Commands, name: string, family: "-4" | "-6"): Promise<string[]> {
  const routes = JSON.parse(await commands.run(["ip", "-j", family, "route", "show", "dev", name])) as Array<{ dst: string; protocol?: string }>;
  return routes.filter((r) => r.protocol !== "kernel" && r.dst !== "default").map((r) => normalize(r.dst.includes("/") ? r.dst : `${r.dst}/${family === "-4" ? 32 : 128}`));
}

/** One spelling per destination, so `ip`'s output and our allowed IPs compare equal. */
function normalize(destination: string): string {
  const [address, bits] = destination.split("/") as [string, string | undefined];
  if (!address.includes(":")) return bits === undefined ? `${address}/32` : destination;
  return `${canonicalIpv6(address) ?? address}/${bits ?? "128"}`;
}
