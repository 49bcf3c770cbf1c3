import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMachineList } from "../../actors/api/machine-list.ts";
import { serveRequests } from "../../actors/nats/serve.ts";
import { formatMachineLs } from "../../cli/commands/machine/ls.ts";
import { linkState, meshStatus } from "../../machines/mesh-status.ts";
import { machineLsRows } from "../../model/machine-ls.ts";
import { subjects } from "../../model/subjects.ts";
import { createLab, sweepLabs, type Lab } from "../../runtime/lab/index.ts";
import { declareStore, type Store } from "../../runtime/store.ts";
import { eventually } from "../harness/daemon.ts";
import { registerLabMachine, startLabMeshPeer, type MeshPeerActor } from "../harness/lab-mesh.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";
import { aNatsUser } from "../fixtures/machines.ts";

/**
 * `machine ls` over a real mesh: two lab machines (network namespaces, wireguard-go) run the real
 * meshPeer and answer `observe.mesh` from it as their participant does; a third member answers
 * nothing. The list shows real handshakes, who holds the store, and the silent member unreachable.
 */

let nats: TestNats | undefined;
let nc: NatsConnection;
let store: Store;
let lab: Lab | undefined;
const peers: MeshPeerActor[] = [];
const serving = new AbortController();

beforeAll(async () => {
  await sweepLabs();
  nats = await startTestNats({ machines: ["m1", "m2", "m8"] });
  nc = await nats.connect();
  store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
  lab = await createLab({ machines: 2, docker: false });
  for (const n of [1, 2]) {
    const meshed = await registerLabMachine(store.kv.machines, lab.machine(n));
    const actor = startLabMeshPeer(nc, store.kv.machines, meshed);
    peers.push(actor);
    // The participant's answer to observe.mesh, without the latency probe (this process is not in the lab's namespaces).
    void serveRequests(await nats.connectAs(meshed.record.id), async (verb) => (verb === "observe.mesh" ? meshStatus(actor.getSnapshot(), meshed.record.id, Date.now()) : { type: "error", error: { name: "Error", code: "internal", message: `not served: ${verb}` } }), {
      subject: subjects.machineAll(meshed.record.id),
      signal: serving.signal,
    });
  }
  const now = new Date().toISOString();
  // m8 is there but never answers (a hung ployzd); m9 is not there at all.
  const silent = await nats.connectAs("m8");
  silent.subscribe(subjects.machineAll("m8"), { callback: () => undefined });
  await silent.flush();
  await store.kv.machines.put("m8", JSON.stringify({ id: "m8", name: "m8", region: "lab", storage: false, state: "active", natsUser: aNatsUser("m8"), joinedAt: now, updatedAt: now }));
  await store.kv.machines.put("m9", JSON.stringify({ id: "m9", name: "m9", region: "lab", storage: false, state: "active", natsUser: aNatsUser("m9"), joinedAt: now, updatedAt: now }));
}, 60_000);

afterAll(async () => {
  serving.abort();
  for (const actor of peers) actor.stop();
  const failures: unknown[] = [];
  await lab?.destroy().catch((error: unknown) => failures.push(error));
  await nats?.dispose().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw new AggregateError(failures, "clean-up failed");
}, 60_000);

describe("machine ls over a real WireGuard mesh (lab)", () => {
  it("each machine's peer is up with a recent handshake; the store holder, the leaf and an unreachable member are told apart", async () => {
    const up = (p: MeshPeerActor) => Object.values(p.getSnapshot().context.links).some((l) => linkState(l.getSnapshot()) === "up");
    await eventually(async () => (peers.every(up) ? true : undefined), "both links up", 30_000);
    const started = performance.now();
    const list = await readMachineList({ nc, machines: store.kv.machines, answeredBy: "test", askTimeoutMs: 1_000 });
    // Everyone is asked at once: a member that hangs costs the list one timeout, not one each.
    expect(performance.now() - started).toBeLessThan(2_000);
    const rows = machineLsRows(list);
    expect(rows.map((r) => [r.id, r.store, r.reach, r.mesh])).toEqual([
      ["m1", "storage", "reachable", "in-sync"],
      ["m2", "leaf", "reachable", "in-sync"],
      ["m8", "leaf", "unreachable", undefined],
      ["m9", "leaf", "unreachable", undefined],
    ]);
    for (const [from, to] of [["m1", "m2"], ["m2", "m1"]] as const) {
      const peer = rows.find((r) => r.id === from)!.peers;
      expect(peer).toEqual([{ machine: to, name: to, state: "up", handshakeAgeMs: expect.any(Number), latencyMs: null }]);
      expect(peer[0]!.handshakeAgeMs).toBeLessThan(30_000);
    }
    const text = formatMachineLs(rows).join("\n");
    expect(text).toMatch(/^m1\s+m1\s+lab\s+-\s+storage\s+active\s+10\.210\.1\.0\/24\s+fd\S+\s+yes \(\d+ms\)\s+in-sync, 1\/1 up$/m);
    expect(text).toMatch(/^m1\s+m2\s+up\s+\d+(ms|s) ago\s+no answer$/m);
    expect(text).toMatch(/^m9\s+.*UNREACHABLE\s+-$/m);
    expect(text).toMatch(/^! m8: .*(did not answer|timed out|timeout).*$/im);
    expect(text).toMatch(/^! m9: .*no responder/m);
  }, 60_000);
});
