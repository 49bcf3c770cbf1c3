import { isLoopback } from "./dns-sources.ts";

/**
 * Where the cluster DNS listens. Containers reach this machine only through the Docker bridge,
 * so the DNS belongs on the bridge address; without a bridge (dockerd never ran yet) it listens on
 * loopback until the bridge appears. The host is derived again at every start and whenever the
 * bridge appears — never kept from an earlier start, when dockerd may have been down. The port is
 * chosen once, at the first start, and kept.
 */

/** Where the DNS listens while there is no Docker bridge. */
export const DNS_LOOPBACK = "127.0.0.1";
/** The port resolv.conf implies: containers are given the cluster DNS only when it listens there. */
export const STANDARD_DNS_PORT = 53;

export interface DnsAddress {
  host: string;
  port: number;
}

/** The address at this start: `port` is `"free"` when a free one must be picked on `host`. */
export interface DnsAddressPlan {
  host: string;
  port: number | "free";
  /** Why the host is not the saved one, for the log. */
  moved?: string;
}

/**
 * The DNS address at start, from the saved one (if any), the bridge as observed now (if any) and
 * `--dns-port` (used only when nothing was saved; 0 asks for a free port; absent means 53).
 */
export function planDnsAddress(saved: DnsAddress | undefined, bridge: string | undefined, requestedPort: number | undefined): DnsAddressPlan {
  const host = bridge ?? DNS_LOOPBACK;
  const port = saved?.port ?? (requestedPort === 0 ? "free" : (requestedPort ?? STANDARD_DNS_PORT));
  if (!saved || saved.host === host) return { host, port };
  const moved = bridge
    ? `the Docker bridge is at ${bridge} now (was ${saved.host})`
    : `there is no Docker bridge now (the DNS was at ${saved.host}); on loopback until it appears`;
  return { host, port, moved };
}

/**
 * The addresses to listen on while running: the one chosen at start (the gateway's Caddy and
 * client.json name it) and, once it exists, the bridge.
 */
export function dnsListenHosts(startHost: string, bridge: string | undefined): string[] {
  return bridge && bridge !== startHost ? [startHost, bridge] : [startHost];
}

/**
 * The resolver a container is given, decided at each container start: the bridge as it is now,
 * when the DNS listens on port 53 (resolv.conf has no port). Never a loopback address: inside a
 * container that is the container itself.
 */
export function containerResolver(dns: DnsAddress, bridge: string | undefined): string | undefined {
  if (dns.port !== STANDARD_DNS_PORT) return undefined;
  const host = bridge ?? dns.host;
  return isLoopback(host) ? undefined : host;
}
