import { existsSync, readdirSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wireGuardGoPids, wireGuardSocket } from "../../actors/mesh/wireguard-interface.ts";
import { linkState, meshStatus } from "../../machines/mesh-status.ts";
import { createLab, listNamespaces, sweepLabs, type Lab } from "../../runtime/lab/index.ts";
import { declareStore, type Store } from "../../runtime/store.ts";
import { eventually } from "../harness/daemon.ts";
import { disposeMeshLab, processesMentioning, registerLabMachine, startLabMeshPeer, type MeshedLabMachine, type MeshPeerActor } from "../harness/lab-mesh.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";

/**
 * Two lab machines (network namespaces on the lab's underlay) run the real meshPeer against a real
 * KV `machines`: wireguard-go interfaces, peers and routes applied from membership, overlay
 * traffic between them; a partition cuts it, a heal restores it; teardown leaves nothing.
 */

let nats: TestNats | undefined;
let nc: NatsConnection;
let store: Store;
let lab: Lab | undefined;
let meshed: MeshedLabMachine[] = [];
const peers: MeshPeerActor[] = [];

/** One ping over the overlay from machine `from` to machine `to`'s overlay address. */
async function overlayPing(from: number, to: number, waitS = 1): Promise<boolean> {
  const result = await lab!.machine(from).commands.attempt(["ping", "-6", "-n", "-c", "1", "-W", String(waitS), meshed[to - 1]!.record.overlayIp!]);
  return result.code === 0;
}

const linkStates = (actor: MeshPeerActor) =>
  Object.fromEntries(Object.entries(actor.getSnapshot().context.links).map(([id, ref]) => [id, linkState(ref.getSnapshot())]));

beforeAll(async () => {
  await sweepLabs(); // labs of earlier runs that were killed
  nats = await startTestNats();
  nc = await nats.connect();
  store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
  lab = await createLab({ machines: 2, docker: false });
  meshed = [await registerLabMachine(store.kv.machines, lab.machine(1)), await registerLabMachine(store.kv.machines, lab.machine(2))];
  for (const m of meshed) peers.push(startLabMeshPeer(nc, store.kv.machines, m));
}, 60_000);

afterAll(async () => await disposeMeshLab(peers, lab, nats), 60_000);

describe("meshPeer in a 2-machine lab (real wireguard-go)", () => {
  it("brings every peer up from membership and carries overlay traffic both ways", async () => {
    await eventually(async () => (peers.every((p) => p.getSnapshot().matches({ watching: { connected: "inSync" } }) && p.getSnapshot().context.applied.length === 1) ? true : undefined), "both meshPeers in sync with one peer each");
    const m1 = peers[0]!.getSnapshot().context;
    expect(m1.interface).toMatchObject({ name: lab!.machine(1).wireguard, implementation: "wireguard-go", overlayIp: meshed[0]!.record.overlayIp });
    expect(m1.applied[0]).toMatchObject({ machineId: "m2", endpoint: "10.213.0.12:51820", allowedIps: [`${meshed[1]!.record.overlayIp}/128`, "10.210.2.0/24"] });

    // What the interface holds, as `wg` says it, and the routes.
    const dump = await lab!.machine(1).commands.run(["wg", "show", lab!.machine(1).wireguard, "allowed-ips"]);
    expect(dump).toContain(meshed[1]!.record.wireguard!.publicKey);
    expect(dump).toContain("10.210.2.0/24");
    const routes = await lab!.machine(1).commands.run(["ip", "route", "show", "dev", lab!.machine(1).wireguard]);
    expect(routes).toContain("10.210.2.0/24");

    await eventually(async () => ((await overlayPing(1, 2)) ? true : undefined), "an overlay ping from m1 to m2");
    expect(await overlayPing(2, 1)).toBe(true);

    await eventually(async () => (peers.every((p) => Object.values(linkStates(p)).every((s) => s === "up")) ? true : undefined), "both links up");
    const observation = meshStatus(peers[0]!.getSnapshot(), "m1", Date.now());
    expect(observation.state).toBe("in-sync");
    expect(observation.peers).toHaveLength(1);
    expect(observation.peers[0]).toMatchObject({ machine: "m2", state: "up" });
    expect(observation.peers[0]!.handshakeAgeMs).toBeLessThan(30_000);
  }, 60_000);

  it("a partition cuts the overlay; a heal restores it", async () => {
    await eventually(async () => ((await overlayPing(1, 2)) ? true : undefined), "the overlay before the partition");
    await lab!.partition(2);
    try {
      expect(await overlayPing(1, 2)).toBe(false);
      expect(await overlayPing(2, 1)).toBe(false);
    } finally {
      await lab!.heal(2);
    }
    await eventually(async () => ((await overlayPing(1, 2)) ? true : undefined), "the overlay after the heal", 30_000);
    expect(await overlayPing(2, 1)).toBe(true);
  }, 60_000);

  it("a meshPeer that restarts adopts the interface it left and re-applies the whole peer set, traffic going on", async () => {
    const pid = wireGuardGoPids(lab!.machine(1).wireguard);
    peers[0]!.stop();
    expect(await overlayPing(1, 2)).toBe(true); // the interface outlives its meshPeer
    peers[0] = startLabMeshPeer(nc, store.kv.machines, meshed[0]!);
    await eventually(async () => (peers[0]!.getSnapshot().matches({ watching: { connected: "inSync" } }) && peers[0]!.getSnapshot().context.applied.length === 1 ? true : undefined), "the new meshPeer in sync");
    expect(peers[0]!.getSnapshot().context.interface?.implementation).toBe("wireguard-go");
    expect(wireGuardGoPids(lab!.machine(1).wireguard)).toEqual(pid); // adopted, not replaced
    expect(await overlayPing(1, 2)).toBe(true);
  }, 60_000);

  it("a member that leaves is taken off the interface and its link is removed", async () => {
    const m2 = meshed[1]!.record;
    await store.kv.machines.put(m2.id, JSON.stringify({ ...m2, state: "removed" }));
    await eventually(async () => (peers[0]!.getSnapshot().context.applied.length === 0 && peers[0]!.getSnapshot().matches({ watching: { connected: "inSync" } }) ? true : undefined), "m1 to drop m2");
    expect(peers[0]!.getSnapshot().context.links).toEqual({});
    expect(peers[0]!.getSnapshot().context.ignored).toEqual([{ machineId: "m2", reason: "removed from the cluster" }]);
    const dump = await lab!.machine(1).commands.run(["wg", "show", lab!.machine(1).wireguard, "peers"]);
    expect(dump.trim()).toBe("");
    const routes = await lab!.machine(1).commands.run(["ip", "route", "show", "dev", lab!.machine(1).wireguard]);
    expect(routes).not.toContain("10.210.2.0/24");
    expect(await overlayPing(1, 2)).toBe(false);
  }, 60_000);

  it("teardown leaves no namespace, interface, socket, process or directory", async () => {
    for (const actor of peers.splice(0)) actor.stop();
    const { id, dir } = lab!;
    const wireguards = lab!.machines.map((m) => m.wireguard);
    expect(wireguards.every((name) => wireGuardGoPids(name).length === 1)).toBe(true);
    await lab!.destroy();
    expect(listNamespaces().filter((ns) => ns.includes(id))).toEqual([]);
    const links = readdirSync("/sys/class/net");
    expect(links.filter((l) => l.includes(id))).toEqual([]);
    for (const name of wireguards) {
      expect(wireGuardGoPids(name)).toEqual([]);
      expect(existsSync(wireGuardSocket(name))).toBe(false);
    }
    expect(existsSync(dir)).toBe(false);
    const mentioning = processesMentioning(id);
    expect(mentioning).toEqual([]);
  }, 60_000);
});

