import { connect } from "node:net";

/**
 * A port that nothing is expected to listen on (discard): the peer's kernel answers a SYN with a
 * reset, a listener with SYN-ACK; either way the answer took one round trip over the overlay.
 */
export const LATENCY_PROBE_PORT = 9;

/**
 * One round trip to `address` measured by a TCP connect (refused or accepted, both are answers),
 * in ms; null when nothing answered within `timeoutMs` (a partition, a dropped SYN). No process,
 * no raw socket: cheap enough to ask every peer at the moment `machine ls` asks.
 */
export function probeLatency(address: string, timeoutMs = 1_000, port = LATENCY_PROBE_PORT): Promise<number | null> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: address, port, timeout: timeoutMs });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered ? Math.round((performance.now() - started) * 100) / 100 : null);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED"));
  });
}

/** The latency to every address at once (by key), each bounded by `timeoutMs`. */
export async function probeLatencies(targets: ReadonlyArray<{ key: string; address: string }>, timeoutMs = 1_000): Promise<Map<string, number | null>> {
  const results = await Promise.all(targets.map(async (t) => [t.key, await probeLatency(t.address, timeoutMs)] as const));
  return new Map(results);
}
