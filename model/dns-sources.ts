/**
 * Who may use the cluster DNS (answers and forwarding): this host itself — loopback, or any
 * address of its interfaces (a process here asking the bridge address may be seen coming from
 * eth0's: the gateway's Caddy, `dig`) — and the running containers of this cluster on this
 * machine's dockerd, known by their addresses. Everyone else on the bridge (other clusters'
 * containers, unmanaged ones) gets REFUSED, so the DNS is no open resolver for them.
 *
 * Why addresses are a sound test: the kernel drops a packet arriving from outside with a
 * loopback or local source address (a martian; `accept_local` is off), so only this host can
 * send as itself; a container that forges another container's source gets nothing back (the
 * reply goes to the address it forged).
 *
 * The table of container addresses comes from dockerd (a listing, kept current by its events),
 * and the host's addresses are read with each listing.
 * An unknown address is not refused at once — a container may ask before its start event
 * arrives — but asks for a fresh listing; an address that was refused is refused without one for
 * `REFUSAL_MEMORY_MS`, so a foreign container cannot make us list dockerd's containers per query.
 */

/** How long a refused address is refused without asking dockerd again (any listing forgets it sooner). */
export const REFUSAL_MEMORY_MS = 5_000;

export interface SourceTable {
  /** This host's own addresses, as of the last listing. */
  host: ReadonlySet<string>;
  /** Addresses of this cluster's running containers, as of the last listing. */
  containers: ReadonlySet<string>;
  /** Addresses found in no listing, and when. */
  refusedAt: ReadonlyMap<string, number>;
}

export type SourceVerdict = "allow" | "refuse" | "ask-docker";

export function emptySourceTable(): SourceTable {
  return { host: new Set(), containers: new Set(), refusedAt: new Map() };
}

/** The verdict for `address`. */
export function judgeSource(table: SourceTable, address: string, now: number): SourceVerdict {
  const source = plainAddress(address);
  if (isLoopback(source) || table.host.has(source) || table.containers.has(source)) return "allow";
  const refused = table.refusedAt.get(source);
  return refused !== undefined && now - refused < REFUSAL_MEMORY_MS ? "refuse" : "ask-docker";
}

/** After a listing: the cluster's containers and the host's addresses as they are now; every earlier refusal is forgotten. */
export function afterListing(containers: Iterable<string>, host: Iterable<string>): SourceTable {
  return { host: new Set([...host].map(plainAddress)), containers: new Set(containers), refusedAt: new Map() };
}

/** After a listing that did not hold `address`: refused for a while. Forgets refusals that expired. */
export function afterRefusal(table: SourceTable, address: string, now: number): SourceTable {
  const refusedAt = new Map([...table.refusedAt].filter(([, at]) => now - at < REFUSAL_MEMORY_MS));
  refusedAt.set(plainAddress(address), now);
  return { host: table.host, containers: table.containers, refusedAt };
}

/** Loopback: 127.0.0.0/8, ::1. */
export function isLoopback(address: string): boolean {
  const source = plainAddress(address);
  return source === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(source);
}

/** An IPv4 address as a dual-stack socket reports it (`::ffff:10.0.0.1`) in its plain form. */
export function plainAddress(address: string): string {
  return address.toLowerCase().startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
