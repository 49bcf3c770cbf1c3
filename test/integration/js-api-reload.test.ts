import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { createUser, fromSeed } from "@nats-io/nkeys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JETSTREAM_DOMAIN } from "../../model/store-layout.ts";
import { renderNatsConfig } from "../../runtime/nats/config.ts";
import { declareStore, jetstreamHandles } from "../../runtime/store.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";

/**
 * nats-server 2.9.10 answers "no responders" on `$JS.ployz.API` for a moment during every reload
 * that changes who may connect (it re-creates the accounts and maps the domain back last). Ployz
 * reloads whenever a credential or a machine is admitted, so its JetStream requests must ride
 * through that moment.
 */
let nats: TestNats;
let raw: KV;
let retrying: KV;
const notices: string[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  const nc = await nats.connect();
  await declareStore(nc, { replicas: 1, declaredBy: "test" });
  const { js } = await jetstreamHandles(nc, (message) => notices.push(message));
  retrying = await new Kvm(js).open("namespaces");
  await retrying.put("key", "value");
  raw = await new Kvm(jetstream(nc, { domain: JETSTREAM_DOMAIN, timeout: 5_000 })).open("namespaces");
});

afterAll(async () => {
  await nats?.dispose();
});

/** Rewrites the server's config with one more (or one fewer) user and asks it to reload, in a loop. */
function reloadRepeatedly(stop: { done: boolean }): Promise<number> {
  const self = fromSeed(nats.seed).getPublicKey();
  const extra = createUser().getPublicKey();
  let reloads = 0;
  return (async () => {
    while (!stop.done) {
      const config = renderNatsConfig({
        machineId: "test",
        storage: true,
        clientHost: "127.0.0.1",
        clientPort: Number(new URL(nats.url).port),
        storeDir: join(nats.dir, "store"),
        pidFile: join(nats.dir, "nats.pid"),
        identities: [
          { nkey: self, role: "machine", name: "test" },
          ...(reloads % 2 === 0 ? [{ nkey: extra, role: "observer" as const, name: "extra" }] : []),
        ],
        members: [],
      });
      writeFileSync(join(nats.dir, "nats.json"), JSON.stringify(config));
      process.kill(nats.server.pid, "SIGHUP");
      reloads++;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    return reloads;
  })();
}

async function readWhileReloading(kv: KV, gets: number): Promise<{ failures: string[]; reloads: number }> {
  const stop = { done: false };
  const reloading = reloadRepeatedly(stop);
  const failures: string[] = [];
  try {
    for (let i = 0; i < gets; i++) {
      try {
        const entry = await kv.get("key");
        if (entry?.string() !== "value") failures.push(`read ${String(entry?.string())}`);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  } finally {
    stop.done = true;
  }
  return { failures, reloads: await reloading };
}

describe("the JetStream API while nats-server reloads its config", () => {
  it("is sometimes not answered for a raw client (the window exists)", async () => {
    // Evidence for the retry below: if nats-server ever closes this window, this test says so.
    const { failures, reloads } = await readWhileReloading(raw, 3_000);
    expect(reloads).toBeGreaterThan(5);
    const unanswered = failures.filter((f) => /no responders|jetstream is not enabled|JetStream not enabled for account/.test(f));
    expect(unanswered.length, `no request went unanswered over ${reloads} reloads`).toBeGreaterThan(0);
    // The other window of a reload: permissions rebuilt in place can lose a request (docs/roles.md).
    expect(failures.filter((f) => !unanswered.includes(f) && f !== "timeout"), failures.join("\n")).toEqual([]);
  });

  it("is answered for Ployz's clients, which ask again and say so", async () => {
    notices.length = 0;
    const { failures, reloads } = await readWhileReloading(retrying, 3_000);
    expect(reloads).toBeGreaterThan(5);
    // Nothing unanswered reaches the caller; a rare timeout (permissions rebuilt in place, one in
    // thousands under this storm of reloads) is the known limit that remains.
    expect(failures.filter((f) => f !== "timeout")).toEqual([]);
    expect(failures.length).toBeLessThan(30);
    expect(notices.length).toBeGreaterThan(0);
    expect(notices[0]).toMatch(/JetStream API did not answer \$JS\.ployz\.API\..* \((no responders|JetStream not enabled for the account), attempt 1\): asking again in 20 ms/);
  });
});
