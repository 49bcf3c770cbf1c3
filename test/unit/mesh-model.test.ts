import { describe, expect, it } from "vitest";
import { SubnetPoolExhaustedError } from "../../model/errors.ts";
import { blockContains, blocksOverlap, formatIpv4, formatIpv4Block, parseIpv4, parseIpv4Block } from "../../model/ipv4.ts";
import { canonicalIpv6, inOverlay, isWireGuardKey, overlayAddress, parseIpv6 } from "../../model/overlay-address.ts";
import { parseWireGuardDump } from "../../model/wireguard-dump.ts";
import { chooseWorkloadSubnet, dockerBridgeIp, parseWorkloadPool, parseWorkloadSubnet, workloadGateway } from "../../model/workload-subnet.ts";
import { aWireGuardKey } from "../fixtures/mesh.ts";

describe("ipv4", () => {
  it("parses dotted quads and refuses anything else", () => {
    expect(parseIpv4("10.210.3.1")).toBe(10 * 2 ** 24 + 210 * 2 ** 16 + 3 * 256 + 1);
    expect(parseIpv4("255.255.255.255")).toBe(2 ** 32 - 1);
    for (const bad of ["10.210.3", "10.210.3.256", "010.1.1.1", "1.2.3.4.5", "a.b.c.d", ""]) expect(parseIpv4(bad)).toBeUndefined();
    expect(formatIpv4(parseIpv4("192.168.0.77")!)).toBe("192.168.0.77");
  });

  it("parses blocks only without host bits, and tells overlap from containment", () => {
    expect(parseIpv4Block("10.210.3.0/24")).toEqual({ base: parseIpv4("10.210.3.0"), bits: 24 });
    expect(parseIpv4Block("10.210.3.1/24")).toBeUndefined();
    expect(parseIpv4Block("10.0.0.0/33")).toBeUndefined();
    expect(parseIpv4Block("10.0.0.0")).toBeUndefined();
    const pool = parseIpv4Block("10.210.0.0/16")!;
    const one = parseIpv4Block("10.210.7.0/24")!;
    const other = parseIpv4Block("10.211.0.0/24")!;
    expect(blockContains(pool, one)).toBe(true);
    expect(blocksOverlap(pool, one)).toBe(true);
    expect(blocksOverlap(pool, other)).toBe(false);
    expect(blockContains(one, pool)).toBe(false);
    expect(formatIpv4Block(one)).toBe("10.210.7.0/24");
  });
});

describe("overlay address", () => {
  it("is derived from the public key, inside the Ployz /48, deterministic and distinct per key", () => {
    const a = overlayAddress(aWireGuardKey(1));
    expect(a).toBe(overlayAddress(aWireGuardKey(1)));
    expect(a).not.toBe(overlayAddress(aWireGuardKey(2)));
    expect(a.startsWith("fd70:6c6f:797a:")).toBe(true);
    expect(inOverlay(a)).toBe(true);
    expect(inOverlay("fd00::1")).toBe(false);
  });

  it("refuses a string that is not a WireGuard key", () => {
    expect(isWireGuardKey(aWireGuardKey(3))).toBe(true);
    expect(isWireGuardKey("not a key")).toBe(false);
    expect(() => overlayAddress("abc")).toThrow(/not a WireGuard public key/);
  });

  it("writes IPv6 canonically (RFC 5952) and refuses what is not IPv6", () => {
    expect(canonicalIpv6("FD70:6C6F:797A:0000:0000:0000:0000:0001")).toBe("fd70:6c6f:797a::1");
    expect(canonicalIpv6("1:0:0:2:0:0:0:3")).toBe("1:0:0:2::3");
    expect(canonicalIpv6("1:0:2:3:4:5:6:7")).toBe("1:0:2:3:4:5:6:7");
    expect(canonicalIpv6("::")).toBe("::");
    expect(parseIpv6("1::2::3")).toBeUndefined();
    expect(parseIpv6("10.0.0.1")).toBeUndefined();
    expect(parseIpv6("1:2:3:4:5:6:7")).toBeUndefined();
  });
});

describe("workload subnet", () => {
  it("chooses the first free /24 of the pool", () => {
    expect(chooseWorkloadSubnet([])).toBe("10.210.0.0/24");
    expect(chooseWorkloadSubnet(["10.210.0.0/24", "10.210.1.0/24", "garbage"])).toBe("10.210.2.0/24");
    // A wider block someone holds covers several /24s.
    expect(chooseWorkloadSubnet(["10.210.0.0/23"])).toBe("10.210.2.0/24");
  });

  it("says so when the pool is full", () => {
    expect(() => chooseWorkloadSubnet(["10.9.0.0/24"], "10.9.0.0/24")).toThrow(SubnetPoolExhaustedError);
  });

  it("refuses a pool that is public, too small or overlaps Docker's default bridge", () => {
    expect(() => parseWorkloadPool("8.8.0.0/16")).toThrow(/private/);
    expect(() => parseWorkloadPool("10.0.0.0/25")).toThrow(/smaller/);
    expect(() => parseWorkloadPool("172.16.0.0/12")).toThrow(/default bridge/);
    expect(parseWorkloadPool("192.168.0.0/16").bits).toBe(16);
  });

  it("gives the bridge's gateway and --bip", () => {
    expect(parseWorkloadSubnet("10.210.3.0/24")).toBeDefined();
    expect(parseWorkloadSubnet("10.210.3.0/30")).toBeUndefined();
    expect(workloadGateway("10.210.3.0/24")).toBe("10.210.3.1");
    expect(dockerBridgeIp("10.210.3.0/24")).toBe("10.210.3.1/24");
    expect(() => workloadGateway("nope")).toThrow(/not a workload subnet/);
  });
});

describe("wg show dump", () => {
  it("reads handshakes and counters of every peer, never keeping the private key", () => {
    const dump = [
      ["PRIVATEKEY=", aWireGuardKey(1), "51820", "off"].join("\t"),
      [aWireGuardKey(2), "(none)", "10.213.0.3:51820", "fd70:6c6f:797a::2/128,10.210.2.0/24", "1700000000", "1234", "5678", "25"].join("\t"),
      [aWireGuardKey(3), "(none)", "(none)", "(none)", "0", "0", "0", "off"].join("\t"),
      "",
    ].join("\n");
    const stats = parseWireGuardDump(dump);
    expect(stats).toEqual({
      publicKey: aWireGuardKey(1),
      listenPort: 51820,
      peers: [
        {
          publicKey: aWireGuardKey(2),
          endpoint: "10.213.0.3:51820",
          allowedIps: ["fd70:6c6f:797a::2/128", "10.210.2.0/24"],
          latestHandshakeAt: 1_700_000_000_000,
          rxBytes: 1234,
          txBytes: 5678,
          persistentKeepaliveS: 25,
        },
        { publicKey: aWireGuardKey(3), endpoint: undefined, allowedIps: [], latestHandshakeAt: undefined, rxBytes: 0, txBytes: 0, persistentKeepaliveS: undefined },
      ],
    });
    expect(JSON.stringify(stats)).not.toContain("PRIVATEKEY");
  });

  it("fails on output that is not a dump", () => {
    expect(() => parseWireGuardDump("")).toThrow(/no interface line/);
    expect(() => parseWireGuardDump("a\tb\tc\td\nshort\tline")).toThrow(/peer line 1/);
  });
});
