import { describe, expect, it } from "vitest";
import { describePeerDiff, diffPeers, isEmptyDiff, isEndpoint, PERSISTENT_KEEPALIVE_S, planPeers } from "../../model/wireguard-peers.ts";
import { overlayAddress } from "../../model/overlay-address.ts";
import { aMeshMember, aWireGuardKey } from "../fixtures/mesh.ts";

const self = { machineId: "m1", publicKey: aWireGuardKey(1), subnet: "10.210.1.0/24" };

describe("planPeers", () => {
  it("makes every other usable member a peer: its overlay /128 and its workload subnet", () => {
    const plan = planPeers([aMeshMember("m1", 1), aMeshMember("m3", 3), aMeshMember("m2", 2)], self);
    expect(plan.ignored).toEqual([]);
    expect(plan.peers.map((p) => p.machineId)).toEqual(["m2", "m3"]);
    expect(plan.peers[0]).toEqual({
      machineId: "m2",
      name: "m2",
      publicKey: aWireGuardKey(2),
      endpoint: "10.213.0.3:51820",
      overlayIp: overlayAddress(aWireGuardKey(2)),
      subnet: "10.210.2.0/24",
      allowedIps: [`${overlayAddress(aWireGuardKey(2))}/128`, "10.210.2.0/24"],
      persistentKeepaliveS: PERSISTENT_KEEPALIVE_S,
    });
  });

  it("leaves out, with the reason, members that cannot be peers", () => {
    const plan = planPeers(
      [
        aMeshMember("gone", 2, { state: "removed" }),
        aMeshMember("joining", 3, { wireguard: undefined }),
        aMeshMember("forged", 4, { overlayIp: overlayAddress(aWireGuardKey(9)) }),
        aMeshMember("badsubnet", 5, { subnet: "10.210.5.1/24" }),
        aMeshMember("badendpoint", 6, { wireguard: { publicKey: aWireGuardKey(6), endpoint: "nowhere" } }),
        aMeshMember("nosubnet", 7, { subnet: undefined }),
      ],
      self,
    );
    expect(plan.peers).toEqual([]);
    const reasons = Object.fromEntries(plan.ignored.map((i) => [i.machineId, i.reason]));
    expect(reasons.gone).toBe("removed from the cluster");
    expect(reasons.joining).toBe("no WireGuard key yet");
    expect(reasons.forged).toMatch(/does not derive from its key/);
    expect(reasons.badsubnet).toMatch(/not an IPv4 block/);
    expect(reasons.badendpoint).toMatch(/not host:port/);
    expect(reasons.nosubnet).toBe("no workload subnet yet");
  });

  it("never lets a later member take a key, address or subnet that one before it (or this machine) holds", () => {
    const plan = planPeers(
      [
        aMeshMember("a", 2),
        aMeshMember("b", 3, { subnet: "10.210.2.0/23" }), // overlaps a's
        aMeshMember("c", 4, { subnet: "10.210.1.0/24" }), // this machine's
        aMeshMember("d", 2), // a's key
      ],
      self,
    );
    expect(plan.peers.map((p) => p.machineId)).toEqual(["a"]);
    expect(plan.ignored).toEqual([
      { machineId: "b", reason: "its subnet (10.210.2.0/23 overlaps) is already held by machine a" },
      { machineId: "c", reason: "its subnet (10.210.1.0/24 overlaps) is already held by machine m1" },
      { machineId: "d", reason: "its WireGuard key is already held by machine a" },
    ]);
  });

  it("accepts host:port and [v6]:port endpoints only", () => {
    expect(isEndpoint("10.0.0.1:51820")).toBe(true);
    expect(isEndpoint("[fd00::1]:51820")).toBe(true);
    expect(isEndpoint("host.example:1")).toBe(true);
    expect(isEndpoint("10.0.0.1:0")).toBe(false);
    expect(isEndpoint("10.0.0.1:70000")).toBe(false);
    expect(isEndpoint("fd00::1:51820")).toBe(false);
  });
});

describe("diffPeers", () => {
  const peersOf = (...members: ReturnType<typeof aMeshMember>[]) => planPeers(members, self).peers;

  it("is empty when nothing the interface holds changed (a name is not the interface's)", () => {
    const before = peersOf(aMeshMember("a", 2));
    const after = peersOf(aMeshMember("a", 2, { name: "renamed" }));
    expect(isEmptyDiff(diffPeers(before, after))).toBe(true);
  });

  it("adds, changes and removes by machine id, and says each in a line", () => {
    const before = peersOf(aMeshMember("a", 2), aMeshMember("b", 3));
    const after = peersOf(aMeshMember("a", 2, { wireguard: { publicKey: aWireGuardKey(2), endpoint: "10.213.0.99:51820" } }), aMeshMember("c", 4));
    const diff = diffPeers(before, after);
    expect(diff.added.map((p) => p.machineId)).toEqual(["c"]);
    expect(diff.changed.map((c) => c.to.machineId)).toEqual(["a"]);
    expect(diff.removed.map((p) => p.machineId)).toEqual(["b"]);
    expect(describePeerDiff(diff)).toEqual([
      `add peer c (c) at 10.213.0.5:51820: ${overlayAddress(aWireGuardKey(4))}/128, 10.210.4.0/24`,
      "change peer a (a): endpoint 10.213.0.3:51820 → 10.213.0.99:51820",
      "remove peer b (b)",
    ]);
  });
});
