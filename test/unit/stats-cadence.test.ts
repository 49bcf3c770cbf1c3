import { describe, expect, it } from "vitest";
import { nextStatsRead } from "../../model/stats-cadence.ts";
import type { WireGuardInterfaceStats } from "../../model/wireguard-dump.ts";

const options = { intervalMs: 5_000, quickMs: 250, quickReads: 3 };
const stats = (handshakes: Record<string, number | undefined>): WireGuardInterfaceStats => ({
  publicKey: "self",
  listenPort: 51820,
  peers: Object.entries(handshakes).map(([publicKey, latestHandshakeAt]) => ({ publicKey, endpoint: undefined, allowedIps: [], latestHandshakeAt, rxBytes: 0, txBytes: 0, persistentKeepaliveS: 25 })),
});

describe("nextStatsRead", () => {
  it("reads at the regular pace when every peer has handshaken (or there are none)", () => {
    expect(nextStatsRead(undefined, stats({}), options).delayMs).toBe(5_000);
    expect(nextStatsRead(undefined, stats({ a: 1_000 }), options).delayMs).toBe(5_000);
  });

  it("reads quickly while a peer has no handshake, a bounded number of times per set of peers", () => {
    let cadence = undefined;
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const next = nextStatsRead(cadence, stats({ a: 1_000, b: undefined }), options);
      cadence = next.cadence;
      delays.push(next.delayMs);
    }
    expect(delays).toEqual([250, 250, 250, 5_000, 5_000]); // a peer that never answers costs 3 quick reads
    // A new peer appears: quick reads again.
    expect(nextStatsRead(cadence, stats({ a: 1_000, b: undefined, c: undefined }), options).delayMs).toBe(250);
    // Its handshake arrives: back to the regular pace at once.
    expect(nextStatsRead(cadence, stats({ a: 1_000, b: 2_000 }), options).delayMs).toBe(5_000);
  });
});
