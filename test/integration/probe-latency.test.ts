import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { probeLatencies, probeLatency } from "../../actors/mesh/probe-latency.ts";
import { freePort } from "../../runtime/process.ts";

describe("probeLatency (loopback)", () => {
  it("counts a refused connection as an answer: one round trip", async () => {
    const port = await freePort();
    const ms = await probeLatency("127.0.0.1", 1_000, port);
    expect(ms).not.toBeNull();
    expect(ms!).toBeGreaterThanOrEqual(0);
  });

  it("counts an accepted connection as an answer too, and measures each target by key", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      expect(await probeLatency("127.0.0.1", 1_000, port)).not.toBeNull();
      const all = await probeLatencies([{ key: "self", address: "127.0.0.1" }], 1_000);
      expect([...all.keys()]).toEqual(["self"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
