import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { createUser } from "@nats-io/nkeys";
import { inboxPrefix } from "../../model/roles.ts";
import { renderNatsConfig } from "../../runtime/nats/config.ts";
import { connectNats } from "../../runtime/nats/connect.ts";
import { startNatsServer, type NatsServerHandle } from "../../runtime/nats/server.ts";
import { freePort } from "../../runtime/process.ts";

/** A real nats-server on loopback with a free port and a temporary store, for one test file. */
export interface TestNats {
  url: string;
  dir: string;
  seed: Uint8Array;
  server: NatsServerHandle;
  connect(name?: string): Promise<NatsConnection>;
  /** Connects as machine `id`, one of `startTestNats({ machines })`: it may serve `ployz.m.<id>.>`. */
  connectAs(id: string): Promise<NatsConnection>;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `machines`: more machine identities besides "test", for a test that plays several machines. */
export async function startTestNats(options: { machines?: string[] } = {}): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), "ployz-test-nats-"));
  const user = createUser();
  const seed = user.getSeed();
  const others = new Map((options.machines ?? []).map((id) => [id, createUser()]));
  const port = await freePort();
  const config = renderNatsConfig({
    machineId: "test",
    storage: true,
    clientHost: "127.0.0.1",
    clientPort: port,
    storeDir: join(dir, "store"),
    pidFile: join(dir, "nats.pid"),
    // The tests' one user declares and writes the store as a machine would.
    identities: [{ nkey: user.getPublicKey(), role: "machine", name: "test" }, ...[...others].map(([name, u]) => ({ nkey: u.getPublicKey(), role: "machine" as const, name }))],
    members: [],
  });
  const configFile = join(dir, "nats.json");
  writeFileSync(configFile, JSON.stringify(config));
  let server: NatsServerHandle;
  try {
    server = await startNatsServer({ configFile, pidFile: join(dir, "nats.pid"), logFile: join(dir, "nats.log"), host: "127.0.0.1", port });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const connections: NatsConnection[] = [];
  const dispose = async () => {
    await Promise.allSettled(connections.map((nc) => nc.close()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url: server.url,
    dir,
    seed,
    server,
    async connect(name = "test") {
      const nc = await connectNats({ servers: [server.url], seed, name, inboxPrefix: inboxPrefix({ role: "machine", name: "test" }), reconnect: false });
      connections.push(nc);
      return nc;
    },
    async connectAs(id) {
      const other = others.get(id);
      if (!other) throw new Error(`startTestNats was not given machine ${id}`);
      const nc = await connectNats({ servers: [server.url], seed: other.getSeed(), name: id, inboxPrefix: inboxPrefix({ role: "machine", name: id }), reconnect: false });
      connections.push(nc);
      return nc;
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
