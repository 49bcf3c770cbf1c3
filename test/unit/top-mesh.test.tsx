import { vi } from "vitest";

// Colours on, before ink (and its chalk) load: a stale link in yellow is something to assert.
vi.hoisted(() => {
  process.env.FORCE_COLOR = "1";
});

import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import { meshLinkMachine } from "../../machines/mesh-link.ts";
import { meshPeerMachine, type MeshInterface, type MeshPeerEvent, type PeerChange, type StatsWatchEvent, type StatsWatchInput } from "../../machines/mesh-peer.ts";
import { ActorTable, type ActorSnapshotMessage } from "../../model/actor-table.ts";
import { overlayAddress } from "../../model/overlay-address.ts";
import { MESH_LINK_CHART } from "../../model/top-mesh.ts";
import { applyActors, applyOverview, emptyTopModel, meshHealth, topView } from "../../model/top-model.ts";
import { HANDSHAKE_STALE_AFTER_MS } from "../../model/wireguard-peers.ts";
import { toInspectionRecord } from "../../runtime/inspection.ts";
import { ActorDetail } from "../../tui/top/ActorDetail.tsx";
import { ActorList } from "../../tui/top/ActorList.tsx";
import { listRows } from "../../tui/top/rows.ts";
import { aMeshMember, aWireGuardKey } from "../fixtures/mesh.ts";
import { aMember, anOverview } from "../fixtures/top.ts";

const ANSI = /\x1b\[[0-9;]*m/g;
const plain = (text: string | undefined) => (text ?? "").replace(ANSI, "").trimEnd();
const YELLOW = "\x1b[33m";
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A real meshPeer (WireGuard effects faked) watched through the same inspection path ployzd's
 * inspector takes, so the snapshot `top` gets is the one a machine would publish.
 */
async function meshPeerSeenByTop() {
  const clock = new SimulatedClock();
  clock.set(Date.parse("2026-11-26T12:00:00.000Z"));
  const table = new ActorTable();
  let members: ((event: MeshPeerEvent) => void) | undefined;
  let stats: ((event: MeshPeerEvent) => void) | undefined;
  const iface: MeshInterface = { name: "plzw1", implementation: "wireguard-go", publicKey: aWireGuardKey(1), overlayIp: overlayAddress(aWireGuardKey(1)), listenPort: 51820 };
  const logic = meshPeerMachine.provide({
    actors: {
      watchMachines: fromCallback<MeshPeerEvent>(({ sendBack }) => void (members = sendBack)),
      ensureInterface: fromPromise<MeshInterface>(async () => iface),
      applyPeers: fromPromise<void, PeerChange>(async () => undefined),
      watchPeerStats: fromCallback<StatsWatchEvent, StatsWatchInput>(({ sendBack }) => void (stats = sendBack)),
    },
  });
  const actor = createActor(logic, {
    clock,
    input: { name: "meshPeer", mesh: { machineId: "m1", now: () => clock.now() } },
    inspect: (event) => {
      const record = toInspectionRecord(event, clock.now());
      if (record) table.apply(record);
    },
  });
  actor.start();
  await flush();
  members!({ type: "MEMBERS", machines: [aMeshMember("m1", 1), aMeshMember("m2", 2), aMeshMember("m3", 3)] });
  await flush();
  const handshakes = (byKey: Record<string, number | undefined>) =>
    stats!({
      type: "PEER_STATS",
      stats: { publicKey: iface.publicKey, listenPort: 51820, peers: Object.entries(byKey).map(([publicKey, latestHandshakeAt]) => ({ publicKey, endpoint: undefined, allowedIps: [], latestHandshakeAt, rxBytes: 1, txBytes: 2, persistentKeepaliveS: 25 })) },
    });
  const message = (): ActorSnapshotMessage => ({ type: "actors", machine: "m1", at: new Date(clock.now()).toISOString(), seq: 1, actors: table.list() });
  return { actor, clock, handshakes, message };
}

describe("top shows each WireGuard peer of a machine", () => {
  it("meshPeer's `peer:<id>` links are in the tree with their state and handshake age; the machine line sums them up", async () => {
    const { actor, clock, handshakes, message } = await meshPeerSeenByTop();
    // m3 never answers: stale once the stale time passed; m2 shook hands 12 s ago.
    clock.increment(HANDSHAKE_STALE_AFTER_MS + 1_000);
    handshakes({ [aWireGuardKey(2)]: clock.now() - 12_000, [aWireGuardKey(3)]: undefined });
    const now = clock.now();
    const model = applyActors(applyOverview(emptyTopModel, anOverview(now, { machines: [aMember("m1")] }), now), message(), now);
    const view = topView(model, now);
    const machine = view.machines[0]!;
    expect(machine.mesh).toEqual({ up: 1, peers: 2, oldestHandshakeAgeMs: 12_000, neverHandshaken: 1 });
    expect(meshHealth(machine)).toBe("mesh 1/2 up, oldest handshake 12s ago, 1 never");
    const links = machine.actors.filter((a) => a.name.startsWith("peer:"));
    expect(links.map((a) => [a.name, a.state, a.note, a.severity])).toEqual([
      ["peer:m2", "up", "handshake 12s ago", "ok"],
      ["peer:m3", "stale", "no handshake yet", "warn"],
    ]);

    const { lastFrame } = render(<ActorList rows={listRows(view, {})} selected={undefined} width={110} height={10} />);
    const frame = lastFrame()!.split("\n");
    expect(plain(frame.find((l) => plain(l).startsWith("■ m1")))).toBe("■ m1 (eu, storage) — reachable, snapshot 0ms ago · mesh 1/2 up, oldest handshake 12s ago, 1 never");
    const m2 = frame.find((l) => plain(l).includes("peer:m2"))!;
    expect(plain(m2)).toMatch(/peer:m2\s+up\s+\d+\S*\s+handshake 12s ago\s*$/);
    const m3 = frame.find((l) => plain(l).includes("peer:m3"))!;
    expect(plain(m3)).toMatch(/[├└]─ peer:m3\s+stale\s+\S+\s+no handshake yet\s*$/);
    expect(m3).toContain(`${YELLOW}stale`);

    // Opened, the link says its handshake age among its facts.
    const detail = render(<ActorDetail actor={links[0]!} machine={machine} chart={undefined} chartScroll={0} width={110} height={16} />);
    expect(plain(detail.lastFrame()!.split("\n")[1])).toMatch(/^state up for \S+ · handshake 12s ago · status active · chart meshLink/);
    actor.stop();
  });

  it("a machine without peers says nothing of a mesh; the chart id top looks for is meshLink's", () => {
    expect(MESH_LINK_CHART).toBe(meshLinkMachine.id);
    expect(meshHealth({ mesh: undefined })).toBeUndefined();
  });
});
