import { describe, expect, it } from "vitest";
import { containerResolver, DNS_LOOPBACK, dnsListenHosts, planDnsAddress } from "../../model/dns-address.ts";

describe("planDnsAddress: where the cluster DNS listens at start", () => {
  it("first start with a bridge: the bridge, on --dns-port (53 by default, a free one for 0)", () => {
    expect(planDnsAddress(undefined, "172.17.0.1", undefined)).toEqual({ host: "172.17.0.1", port: 53 });
    expect(planDnsAddress(undefined, "172.17.0.1", 5353)).toEqual({ host: "172.17.0.1", port: 5353 });
    expect(planDnsAddress(undefined, "172.17.0.1", 0)).toEqual({ host: "172.17.0.1", port: "free" });
  });

  it("first start without a bridge (dockerd down): loopback, until the bridge appears", () => {
    expect(planDnsAddress(undefined, undefined, undefined)).toEqual({ host: DNS_LOOPBACK, port: 53 });
  });

  it("a later start re-derives the host from the bridge as it is now, and keeps the saved port", () => {
    // the defect: dockerd was down at the first start, and 127.0.0.1 stuck for good
    expect(planDnsAddress({ host: "127.0.0.1", port: 53 }, "172.17.0.1", undefined)).toEqual({ host: "172.17.0.1", port: 53, moved: "the Docker bridge is at 172.17.0.1 now (was 127.0.0.1)" });
    expect(planDnsAddress({ host: "172.17.0.1", port: 40001 }, "10.99.0.1", 0)).toMatchObject({ host: "10.99.0.1", port: 40001 });
    expect(planDnsAddress({ host: "172.17.0.1", port: 40001 }, undefined, undefined)).toMatchObject({ host: DNS_LOOPBACK, port: 40001, moved: expect.stringContaining("no Docker bridge") });
  });

  it("a later start with the bridge where it was changes nothing", () => {
    expect(planDnsAddress({ host: "172.17.0.1", port: 40001 }, "172.17.0.1", 53)).toEqual({ host: "172.17.0.1", port: 40001 });
  });
});

describe("dnsListenHosts: where it listens while running", () => {
  it("keeps the start address (Caddy and client.json name it) and adds the bridge once it appears", () => {
    expect(dnsListenHosts(DNS_LOOPBACK, undefined)).toEqual([DNS_LOOPBACK]);
    expect(dnsListenHosts(DNS_LOOPBACK, "172.17.0.1")).toEqual([DNS_LOOPBACK, "172.17.0.1"]);
    expect(dnsListenHosts("172.17.0.1", "172.17.0.1")).toEqual(["172.17.0.1"]);
  });
});

describe("containerResolver: the resolver a container is given", () => {
  it("is the bridge as it is now, when the DNS listens on port 53", () => {
    expect(containerResolver({ host: "172.17.0.1", port: 53 }, "172.17.0.1")).toBe("172.17.0.1");
    // started without a bridge; the bridge appeared since
    expect(containerResolver({ host: DNS_LOOPBACK, port: 53 }, "172.17.0.1")).toBe("172.17.0.1");
  });

  it("is never loopback: a container would be asking itself", () => {
    expect(containerResolver({ host: DNS_LOOPBACK, port: 53 }, undefined)).toBeUndefined();
  });

  it("is none on another port: resolv.conf cannot name a port", () => {
    expect(containerResolver({ host: "172.17.0.1", port: 5353 }, "172.17.0.1")).toBeUndefined();
  });
});
