import { describe, expect, it } from "vitest";
import { formatMachineLs } from "../../cli/commands/machine/ls.ts";
import { machineLsRows, type MachineReach } from "../../model/machine-ls.ts";
import type { MeshObservation } from "../../model/mesh-observation.ts";
import { aMachine } from "../fixtures/machines.ts";

const AT = "2026-11-26T12:00:00.000Z";

function meshOf(machine: string, peers: MeshObservation["peers"]): MeshObservation {
  return { type: "mesh", machine, at: AT, state: "in-sync", interface: { name: "plz0", implementation: "wireguard-go", overlayIp: "fd8a::1", listenPort: 51820 }, peers, ignored: [] };
}

const peer = (machine: string, state: MeshObservation["peers"][number]["state"], handshakeAgeMs: number | null, latencyMs: number | null) => ({
  machine,
  name: machine,
  overlayIp: `fd8a::${machine}`,
  endpoint: `192.0.2.1:51820`,
  state,
  handshakeAgeMs,
  latencyMs,
  rxBytes: 0,
  txBytes: 0,
});

/** m1 holds the store and sees m2 up and m3 stale; m2 is a leaf that answers; m3 does not answer; m4 was removed. */
function cluster() {
  const machines = [
    aMachine({ id: "m3", region: "us", storage: false }),
    aMachine({ id: "m1", region: "eu", zone: "a", subnet: "10.210.1.0/24", overlayIp: "fd8a::1", wireguard: { publicKey: "k1", endpoint: "192.0.2.1:51820" } }),
    aMachine({ id: "m2", region: "eu", storage: false, subnet: "10.210.2.0/24", overlayIp: "fd8a::2" }),
    aMachine({ id: "m4", state: "removed" }),
  ];
  const observation: MachineReach[] = [
    { machine: "m1", at: AT, reachable: true, askMs: 3.2, mesh: meshOf("m1", [peer("m2", "up", 12_000, 0.41), peer("m3", "stale", 245_000, null)]) },
    { machine: "m2", at: AT, reachable: true, askMs: 4, mesh: { type: "mesh", machine: "m2", at: AT, state: "off", peers: [], ignored: [] } },
    { machine: "m3", at: AT, reachable: false, askMs: 1.1, error: { name: "NoResponderError", code: "no-responder", message: "no responder for ployz.m.m3.observe.mesh (machine m3)" } },
  ];
  return { machines, observation };
}

describe("machine ls: Intent joined with what each machine said just now", () => {
  it("joins by id, in id order: store role, reachability, the mesh each sees; a removed member is not asked", () => {
    const rows = machineLsRows(cluster());
    expect(rows.map((r) => [r.id, r.store, r.reach, r.mesh])).toEqual([
      ["m1", "storage", "reachable", "in-sync"],
      ["m2", "leaf", "reachable", "off"],
      ["m3", "leaf", "unreachable", undefined],
      ["m4", "storage", "not-asked", undefined],
    ]);
    expect(rows[0]).toMatchObject({ zone: "a", subnet: "10.210.1.0/24", overlayIp: "fd8a::1", endpoint: "192.0.2.1:51820", askMs: 3.2, error: undefined });
    expect(rows[0]!.peers).toEqual([
      { machine: "m2", name: "m2", state: "up", handshakeAgeMs: 12_000, latencyMs: 0.41 },
      { machine: "m3", name: "m3", state: "stale", handshakeAgeMs: 245_000, latencyMs: null },
    ]);
    expect(rows[2]!.error).toMatch(/no responder/);
  });

  it("an answer with an error is reachable and says the error; an answer for a machine no longer a member is left out", () => {
    const { machines } = cluster();
    const rows = machineLsRows({
      machines: machines.filter((m) => m.id === "m1"),
      observation: [
        { machine: "m1", at: AT, reachable: true, askMs: 2, error: { name: "RemoteError", code: "internal", message: "machine m1: meshPeer is not running" } },
        { machine: "gone", at: AT, reachable: true, askMs: 2 },
      ],
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ reach: "reachable", mesh: undefined, error: "machine m1: meshPeer is not running" });
    expect(formatMachineLs(rows)[1]).toMatch(/yes \(2ms\)\s+\?$/);
  });

  it("the table: one line a machine, the peers each sees with handshake age and latency, then what is unreachable", () => {
    const lines = formatMachineLs(machineLsRows(cluster()));
    expect(lines[0]).toMatch(/^ID\s+NAME\s+REGION\s+ZONE\s+STORE\s+STATE\s+SUBNET\s+OVERLAY\s+REACH\s+MESH$/);
    expect(lines[1]).toMatch(/^m1\s+m1\s+eu\s+a\s+storage\s+active\s+10\.210\.1\.0\/24\s+fd8a::1\s+yes \(3ms\)\s+in-sync, 1\/2 up$/);
    expect(lines[2]).toMatch(/^m2\s+m2\s+eu\s+-\s+leaf\s+active\s+10\.210\.2\.0\/24\s+fd8a::2\s+yes \(4ms\)\s+off$/);
    expect(lines[3]).toMatch(/^m3\s+m3\s+us\s+-\s+leaf\s+active\s+-\s+-\s+UNREACHABLE\s+-$/);
    expect(lines[4]).toMatch(/^m4\s+.*removed\s+-\s+-\s+-\s+-$/);
    expect(lines.slice(5, 10)).toEqual([
      "",
      "PEERS (as each machine sees them)",
      expect.stringMatching(/^FROM\s+TO\s+LINK\s+HANDSHAKE\s+LATENCY$/),
      expect.stringMatching(/^m1\s+m2\s+up\s+12s ago\s+0\.41ms$/),
      expect.stringMatching(/^m1\s+m3\s+stale\s+4m05s ago\s+no answer$/),
    ]);
    expect(lines.slice(10)).toEqual(["", "! m3: no responder for ployz.m.m3.observe.mesh (machine m3)"]);
    expect(formatMachineLs([])).toEqual(["no machines"]);
  });
});
