import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "@nats-io/nkeys";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leafUser, type LeafLogin } from "../../model/leaf-credentials.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { inboxPrefix, type Identity } from "../../model/roles.ts";
import { subjects } from "../../model/subjects.ts";
import { natsAccess } from "../../runtime/nats/access.ts";
import { renderNatsConfig } from "../../runtime/nats/config.ts";
import { connectNats } from "../../runtime/nats/connect.ts";
import { startNatsServer, type NatsServerHandle } from "../../runtime/nats/server.ts";
import { silentLogger } from "../../runtime/logger.ts";
import { freePort } from "../../runtime/process.ts";
import { eventually } from "../harness/daemon.ts";

/**
 * A leaf machine's nats-server follows membership through `natsAccess`: a change of its leaf
 * remotes (a storage machine added) cannot be reloaded on 2.9.10, so nats-server is started again
 * with the new remotes; a change of who may connect is a reload. Real nats-servers on loopback:
 * two hubs with their leaf listeners on 127.0.0.2 and 127.0.0.3 (port 7422 each), one leaf.
 */

const dir = mkdtempSync(join(tmpdir(), "ployz-leaf-restart-"));
const password = "leaf-password-for-the-test-only-0123456789ab";
const leafLogin: LeafLogin = { user: leafUser("leaf"), password };
const servers: NatsServerHandle[] = [];
const connections: NatsConnection[] = [];

const hubUser = createUser();
const operator = createUser();
const leafMachine = createUser();
const now = new Date().toISOString();
const hubRecord = (id: string, natsHost: string): MachineRecord => ({ id, name: id, region: "lab", storage: true, state: "active", natsUser: hubUser.getPublicKey(), natsHost, joinedAt: now, updatedAt: now });
const hubA = hubRecord("hub-a", "127.0.0.2");
const hubB = hubRecord("hub-b", "127.0.0.3");
const leafRecord: MachineRecord = { id: "leaf", name: "leaf", region: "lab", storage: false, state: "active", natsUser: leafMachine.getPublicKey(), joinedAt: now, updatedAt: now };

async function startHub(record: MachineRecord): Promise<{ server: NatsServerHandle; url: string }> {
  const home = join(dir, record.id);
  const port = await freePort();
  const config = renderNatsConfig({
    machineId: record.id,
    storage: true,
    clientHost: "127.0.0.1",
    clientPort: port,
    storeDir: join(home, "store"),
    pidFile: join(home, "nats.pid"),
    identities: [{ nkey: hubUser.getPublicKey(), role: "machine", name: record.id }],
    members: [record],
    overlayIp: record.natsHost!,
    leafLogins: [leafLogin],
  });
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, "nats.json"), JSON.stringify(config));
  const server = await startNatsServer({ configFile: join(home, "nats.json"), pidFile: join(home, "nats.pid"), logFile: join(home, "nats.log"), host: "127.0.0.1", port });
  servers.push(server);
  return { server, url: server.url };
}

/** The hub's machine answers one observation on its own subject, as a participant would. */
async function answerOn(url: string, machine: string): Promise<NatsConnection> {
  const nc = await connectNats({ servers: [url], seed: hubUser.getSeed(), name: `test ${machine}`, inboxPrefix: inboxPrefix({ role: "machine", name: machine }), reconnect: false });
  connections.push(nc);
  nc.subscribe(subjects.machine(machine, "observe.capacity"), { callback: (_, msg) => void msg.respond(JSON.stringify({ from: machine })) });
  await nc.flush();
  return nc;
}

let leaf: { url: string; port: number; handle?: NatsServerHandle };
let access: ReturnType<typeof natsAccess>;
const restarts: string[] = [];
const leafHome = join(dir, "leaf");

/** Asks `machine`'s observation from a client of the leaf: answered only across a working leaf link. */
async function askThroughLeaf(machine: string): Promise<string> {
  const nc = await connectNats({ servers: [leaf.url], seed: operator.getSeed(), name: "test operator", inboxPrefix: inboxPrefix({ role: "operator", name: "op" }), reconnect: false });
  try {
    const reply = await nc.request(subjects.machine(machine, "observe.capacity"), "", { timeout: 1_000 });
    return (reply.json() as { from: string }).from;
  } finally {
    await nc.close();
  }
}

beforeAll(async () => {
  mkdirSync(leafHome, { recursive: true });
  const port = await freePort();
  const base: Identity[] = [
    { nkey: leafMachine.getPublicKey(), role: "machine", name: "leaf" },
    { nkey: operator.getPublicKey(), role: "operator", name: "op" },
  ];
  const start = async () => {
    leaf.handle = await startNatsServer({ configFile: join(leafHome, "nats.json"), pidFile: join(leafHome, "nats.pid"), logFile: join(leafHome, "nats.log"), host: "127.0.0.1", port });
    servers.push(leaf.handle);
  };
  leaf = { url: `nats://127.0.0.1:${port}`, port };
  access = natsAccess({
    configFile: join(leafHome, "nats.json"),
    cacheFile: join(leafHome, "admission.json"),
    logFile: join(leafHome, "nats.log"),
    base,
    render: (identities, members) =>
      renderNatsConfig({ machineId: "leaf", storage: false, clientHost: "127.0.0.1", clientPort: port, storeDir: join(leafHome, "store"), pidFile: join(leafHome, "nats.pid"), identities, members, leafLogin, joinedHubs: [hubA] }),
    pid: () => leaf.handle?.pid,
    restart: async (reason) => {
      restarts.push(reason);
      await leaf.handle!.stop();
      await start();
    },
    log: silentLogger(),
  });
  access.writeInitial();
  await start();
}, 60_000);

afterAll(async () => {
  access?.stop();
  await Promise.allSettled(connections.map((nc) => nc.close()));
  await Promise.allSettled(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe("a leaf machine's nats-server following membership", () => {
  it("starts again when a storage machine is added (leaf remotes cannot be reloaded), and then reaches the new one", async () => {
    const a = await startHub(hubA);
    await answerOn(a.url, "hub-a");
    expect(await eventually(async () => await askThroughLeaf("hub-a").catch(() => undefined), "the leaf linked to hub-a")).toBe("hub-a");

    const before = leaf.handle!.pid;
    await access.apply({ members: [hubA, hubB, leafRecord], credentials: [] });
    expect(restarts).toEqual(["its config changed in a way it cannot reload"]);
    expect(leaf.handle!.pid).not.toBe(before);
    const urls = JSON.stringify((JSON.parse(readFileSync(join(leafHome, "nats.json"), "utf8")) as { leafnodes: unknown }).leafnodes);
    expect(urls).toContain("127.0.0.2:7422");
    expect(urls).toContain("127.0.0.3:7422");

    // hub-a goes; hub-b comes up: the leaf, started again with both remotes, links to hub-b.
    await a.server.stop();
    const b = await startHub(hubB);
    await answerOn(b.url, "hub-b");
    expect(await eventually(async () => await askThroughLeaf("hub-b").catch(() => undefined), "the leaf linked to hub-b", 20_000)).toBe("hub-b");
  }, 60_000);

  it("reloads, without starting again, when only who may connect changes", async () => {
    const pid = leaf.handle!.pid;
    const restartsBefore = restarts.length;
    const logBefore = readFileSync(join(leafHome, "nats.log"), "utf8").split("Reloaded server configuration").length;
    const extra = createUser();
    const extraRecord: MachineRecord = { ...leafRecord, id: "other", name: "other", natsUser: extra.getPublicKey() };
    await access.apply({ members: [hubA, hubB, leafRecord, extraRecord], credentials: [] });
    expect(restarts.length).toBe(restartsBefore);
    expect(leaf.handle!.pid).toBe(pid);
    expect(readFileSync(join(leafHome, "nats.log"), "utf8").split("Reloaded server configuration").length).toBe(logBefore + 1);
    // the new member's key is admitted by the running server
    const nc = await connectNats({ servers: [leaf.url], seed: extra.getSeed(), name: "other", inboxPrefix: inboxPrefix({ role: "machine", name: "other" }), reconnect: false });
    await nc.close();
  }, 30_000);
});
