import { describe, expect, it } from "vitest";
import { labIdOf, labNames, newLabId } from "../../runtime/lab/lab-names.ts";

describe("lab names", () => {
  it("fit Linux's 15-character interface names and carry the lab id, for up to 999 machines", () => {
    const id = newLabId();
    expect(id).toMatch(/^[0-9a-f]{6}$/);
    const names = labNames(id);
    const all = [names.bridge, names.underlayNamespace, names.namespace(999), names.hostVeth(999), names.wireguard(999)];
    for (const name of all) {
      expect(name.length).toBeLessThanOrEqual(15);
      expect(labIdOf(name)).toBe(id);
    }
  });

  it("give each machine its own namespace, veth, WireGuard name, underlay address and subnet", () => {
    const names = labNames("ab12cd");
    expect([names.namespace(1), names.hostVeth(1), names.wireguard(1)]).toEqual(["plzab12cdm1", "plzab12cdv1", "plzab12cdw1"]);
    expect(names.wireguard(2)).not.toBe(labNames("ab12ce").wireguard(2));
    expect([names.underlayIp(1), names.underlayIp(2)]).toEqual(["10.213.0.11", "10.213.0.12"]);
    expect(names.subnet(3)).toBe("10.210.3.0/24");
  });

  it("know no other names", () => {
    for (const other of ["eth0", "docker0", "plz", "plzab12cd", "plzab12cdx1", "plzAB12CDm1", "wg0"]) expect(labIdOf(other)).toBeUndefined();
  });
});
