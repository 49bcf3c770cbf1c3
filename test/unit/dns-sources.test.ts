import { describe, expect, it } from "vitest";
import { afterListing, afterRefusal, emptySourceTable, isLoopback, judgeSource, plainAddress, REFUSAL_MEMORY_MS } from "../../model/dns-sources.ts";

/** This host: its eth0 and its Docker bridge. */
const HOST = ["192.0.2.2", "172.17.0.1", "fe80::1"];
const T0 = 1_000_000;
const listing = (containers: string[]) => afterListing(containers, HOST);

describe("judgeSource", () => {
  it("allows loopback before anything is known (also as a dual-stack socket reports it)", () => {
    for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
      expect(judgeSource(emptySourceTable(), address, T0), address).toBe("allow");
    }
  });

  it("allows every address of this host: a process here asking the bridge address may come from eth0's", () => {
    for (const address of ["192.0.2.2", "172.17.0.1", "::ffff:172.17.0.1", "fe80::1"]) {
      expect(judgeSource(listing([]), address, T0), address).toBe("allow");
    }
    expect(judgeSource(emptySourceTable(), "192.0.2.2", T0)).toBe("ask-docker");
  });

  it("allows the cluster's running containers as of the last listing, and asks dockerd about any other address", () => {
    const table = listing(["172.17.0.5", "172.17.0.9"]);
    expect(judgeSource(table, "172.17.0.5", T0)).toBe("allow");
    expect(judgeSource(table, "::ffff:172.17.0.9", T0)).toBe("allow");
    expect(judgeSource(table, "172.17.0.6", T0)).toBe("ask-docker");
    expect(judgeSource(table, "192.0.2.3", T0)).toBe("ask-docker");
  });

  it("refuses an address that a listing did not hold without asking again, for a while", () => {
    const table = afterRefusal(listing(["172.17.0.5"]), "172.17.0.6", T0);
    expect(judgeSource(table, "172.17.0.6", T0 + 1)).toBe("refuse");
    expect(judgeSource(table, "172.17.0.6", T0 + REFUSAL_MEMORY_MS - 1)).toBe("refuse");
    expect(judgeSource(table, "172.17.0.6", T0 + REFUSAL_MEMORY_MS)).toBe("ask-docker");
    // the containers it knew are still allowed
    expect(judgeSource(table, "172.17.0.5", T0 + 1)).toBe("allow");
  });

  it("forgets refusals at the next listing: an address taken over by one of our containers is allowed at once", () => {
    const refused = afterRefusal(listing([]), "172.17.0.6", T0);
    expect(judgeSource(refused, "172.17.0.6", T0 + 1)).toBe("refuse");
    // a listing replaces the whole table
    expect(judgeSource(listing(["172.17.0.6"]), "172.17.0.6", T0 + 1)).toBe("allow");
    expect(judgeSource(listing([]), "172.17.0.6", T0 + 1)).toBe("ask-docker");
  });

  it("stops allowing a container that is gone from the next listing", () => {
    expect(judgeSource(listing(["172.17.0.5"]), "172.17.0.5", T0)).toBe("allow");
    expect(judgeSource(listing([]), "172.17.0.5", T0)).toBe("ask-docker");
  });

  it("keeps no expired refusals", () => {
    let table = listing([]);
    for (let i = 0; i < 100; i++) table = afterRefusal(table, `172.17.1.${i}`, T0 + i * REFUSAL_MEMORY_MS);
    expect(table.refusedAt.size).toBe(1);
  });
});

describe("addresses", () => {
  it("knows loopback, and nothing that merely looks like it", () => {
    expect(["127.0.0.1", "127.255.0.3", "::1", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["172.17.0.1", "::2", "1127.0.0.1", "127.0.0", "fe80::1"].some(isLoopback)).toBe(false);
  });

  it("reads an IPv4-mapped IPv6 address as IPv4, and leaves other IPv6 as it is", () => {
    expect(plainAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(plainAddress("::FFFF:10.0.0.1")).toBe("10.0.0.1");
    expect(plainAddress("fd00::1")).toBe("fd00::1");
  });
});
