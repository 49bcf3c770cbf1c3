/** What `wg show <interface> dump` says about each peer: handshakes and traffic. Pure parsing. */

export interface WireGuardPeerStats {
  publicKey: string;
  /** As WireGuard last saw it (it follows a roaming peer); undefined before any packet. */
  endpoint: string | undefined;
  allowedIps: string[];
  /** Time of the latest handshake (ms since epoch), undefined if none yet. */
  latestHandshakeAt: number | undefined;
  rxBytes: number;
  txBytes: number;
  persistentKeepaliveS: number | undefined;
}

export interface WireGuardInterfaceStats {
  publicKey: string;
  listenPort: number;
  peers: WireGuardPeerStats[];
}

/**
 * Parses `wg show IF dump`: a first line for the interface (private key, public key, listen port,
 * fwmark) and one line per peer (public key, preshared key, endpoint, allowed IPs, latest
 * handshake in epoch seconds or 0, rx bytes, tx bytes, keepalive or "off"), tab-separated.
 * The private key is read past, never kept.
 */
export function parseWireGuardDump(text: string): WireGuardInterfaceStats {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const head = lines[0]?.split("\t");
  if (!head || head.length < 4) throw new Error(`wg dump: no interface line (got ${JSON.stringify(text.slice(0, 80))})`);
  const peers = lines.slice(1).map((line, i) => {
    const f = line.split("\t");
    if (f.length < 8) throw new Error(`wg dump: peer line ${i + 1} has ${f.length} fields, not 8`);
    const handshake = Number(f[4]);
    return {
      publicKey: f[0]!,
      endpoint: f[2] === "(none)" ? undefined : f[2]!,
      allowedIps: f[3] === "(none)" ? [] : f[3]!.split(","),
      latestHandshakeAt: handshake > 0 ? handshake * 1000 : undefined,
      rxBytes: Number(f[5]),
      txBytes: Number(f[6]),
      persistentKeepaliveS: f[7] === "off" ? undefined : Number(f[7]),
    };
  });
  return { publicKey: head[1]!, listenPort: Number(head[2]), peers };
}
