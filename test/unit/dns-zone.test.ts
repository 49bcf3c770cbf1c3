import { describe, expect, it } from "vitest";
import { answerQuestion, dnsTtlSeconds, inClusterZone, MAX_DNS_TTL_SECONDS, type DnsResult } from "../../model/dns-zone.ts";
import { CLUSTER_ZONE } from "../../model/routing.ts";
import { aBackend, aProjection, aRoutingRecord } from "../fixtures/routing.ts";

const web = aRoutingRecord({
  service: "web",
  ports: [
    { container: 80, protocol: "tcp" },
    { container: 443, protocol: "tcp" },
  ],
  backends: [aBackend(0), aBackend(2)],
});
const starting = aRoutingRecord({ service: "worker", backends: [] });
const blogWeb = aRoutingRecord({ namespace: "blog", service: "web", backends: [aBackend(0, { address: "10.0.9.9" })] });
const projection = aProjection(web, starting, blogWeb);

/** Any TTL will do: answers carry the one they are given. */
const TTL = 3;
const nxdomain: DnsResult = { rcode: "NXDOMAIN", answers: [] };
const noRecords: DnsResult = { rcode: "NOERROR", answers: [] };
const a = (name: string, address: string) => ({ type: "A", name, ttl: TTL, data: address });

describe("inClusterZone", () => {
  it("knows the zone itself and every name under it, in any case, with or without the trailing dot", () => {
    for (const name of ["ployz.internal", "ployz.internal.", "web.shop.ployz.internal", "0.web.shop.ployz.internal.", "WEB.Shop.Ployz.Internal"]) {
      expect(inClusterZone(name), name).toBe(true);
    }
  });

  it("leaves every other name to the upstream resolver, even one that merely ends in the zone's letters", () => {
    for (const name of ["evilployz.internal", "ployz.internal.example.com", "internal", "example.com.", "web.shop.ployz"]) {
      expect(inClusterZone(name), name).toBe(false);
    }
  });
});

describe("answerQuestion: a service", () => {
  it("answers A for <service>.<ns> with every ready backend", () => {
    expect(answerQuestion(projection, `web.shop.${CLUSTER_ZONE}`, "A", TTL)).toEqual({
      rcode: "NOERROR",
      answers: [a("web.shop.ployz.internal", "10.0.0.10"), a("web.shop.ployz.internal", "10.0.0.12")],
    });
  });

  it("answers the same whatever the case, with or without the trailing dot", () => {
    expect(answerQuestion(projection, "Web.SHOP.ployz.internal.", "A", TTL)).toEqual(answerQuestion(projection, "web.shop.ployz.internal", "A", TTL));
  });

  it("keeps namespaces apart: the same service name in another namespace has its own backends", () => {
    expect(answerQuestion(projection, "web.blog.ployz.internal", "A", TTL).answers).toEqual([a("web.blog.ployz.internal", "10.0.9.9")]);
  });

  it("answers SRV with one record per backend and port, each targeting the backend's slot name", () => {
    const result = answerQuestion(projection, "web.shop.ployz.internal", "SRV", TTL);

    expect(result.rcode).toBe("NOERROR");
    expect(result.answers.map((answer) => answer.data)).toEqual([
      { priority: 0, weight: 1, port: 80, target: "0.web.shop.ployz.internal" },
      { priority: 0, weight: 1, port: 443, target: "0.web.shop.ployz.internal" },
      { priority: 0, weight: 1, port: 80, target: "2.web.shop.ployz.internal" },
      { priority: 0, weight: 1, port: 443, target: "2.web.shop.ployz.internal" },
    ]);
    expect(result.answers.every((answer) => answer.type === "SRV" && answer.name === "web.shop.ployz.internal" && answer.ttl === TTL)).toBe(true);
  });

  it("resolves every SRV target to exactly its backend", () => {
    for (const { data } of answerQuestion(projection, "web.shop.ployz.internal", "SRV", TTL).answers) {
      const target = (data as { target: string }).target;
      expect(answerQuestion(projection, target, "A", TTL).answers.map((answer) => answer.data)).toEqual([target.startsWith("0.") ? "10.0.0.10" : "10.0.0.12"]);
    }
  });

  it("answers NOERROR with no records for a service with no ready backend, for A and SRV alike", () => {
    expect(answerQuestion(projection, "worker.shop.ployz.internal", "A", TTL)).toEqual(noRecords);
    expect(answerQuestion(projection, "worker.shop.ployz.internal", "SRV", TTL)).toEqual(noRecords);
  });

  it("answers NOERROR with no records to AAAA for a name that exists: there are no IPv6 backends", () => {
    expect(answerQuestion(projection, "web.shop.ployz.internal", "AAAA", TTL)).toEqual(noRecords);
    expect(answerQuestion(projection, "0.web.shop.ployz.internal", "AAAA", TTL)).toEqual(noRecords);
  });

  it("answers NXDOMAIN for an unknown service or namespace", () => {
    expect(answerQuestion(projection, "api.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
    expect(answerQuestion(projection, "web.nowhere.ployz.internal", "A", TTL)).toEqual(nxdomain);
    expect(answerQuestion(projection, "worker.blog.ployz.internal", "SRV", TTL)).toEqual(nxdomain);
  });

  it("forgets a deleted service: its name no longer exists", () => {
    const after = aProjection(web, starting, { ...web, commitSeq: 2, deleted: true, backends: [] });
    expect(answerQuestion(after, "web.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
  });
});

describe("answerQuestion: a slot", () => {
  it("answers A for <slot>.<service>.<ns> with that backend only", () => {
    expect(answerQuestion(projection, "2.web.shop.ployz.internal", "A", TTL)).toEqual({ rcode: "NOERROR", answers: [a("2.web.shop.ployz.internal", "10.0.0.12")] });
  });

  it("answers NXDOMAIN for a slot with no ready backend, or of an unknown service", () => {
    expect(answerQuestion(projection, "1.web.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
    expect(answerQuestion(projection, "0.worker.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
    expect(answerQuestion(projection, "0.api.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
  });

  it("answers NXDOMAIN for a label that only looks like a slot number", () => {
    for (const label of ["00", "02", "2.0", "+2", "0x2", "two", ""]) {
      expect(answerQuestion(projection, `${label}.web.shop.ployz.internal`, "A", TTL), label).toEqual(nxdomain);
    }
  });
});

describe("answerQuestion: the zone and namespaces", () => {
  it("answers NOERROR with no records for a namespace that has services, NXDOMAIN for one that has none", () => {
    expect(answerQuestion(projection, "shop.ployz.internal", "A", TTL)).toEqual(noRecords);
    expect(answerQuestion(projection, "blog.ployz.internal.", "SRV", TTL)).toEqual(noRecords);
    expect(answerQuestion(projection, "nowhere.ployz.internal", "A", TTL)).toEqual(nxdomain);
  });

  it("answers NXDOMAIN for a namespace whose every service was deleted", () => {
    const after = aProjection(blogWeb, { ...blogWeb, deleted: true, backends: [] });
    expect(answerQuestion(after, "blog.ployz.internal", "A", TTL)).toEqual(nxdomain);
  });

  it("answers NOERROR with no records for the zone itself", () => {
    expect(answerQuestion(projection, "ployz.internal.", "A", TTL)).toEqual(noRecords);
  });

  it("answers NXDOMAIN for four labels or more under the zone", () => {
    expect(answerQuestion(projection, "x.0.web.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
    expect(answerQuestion(projection, "a.b.x.0.web.shop.ployz.internal", "A", TTL)).toEqual(nxdomain);
  });
});

describe("dnsTtlSeconds: answers never outlive the drain", () => {
  it("is the drain in whole seconds, rounded down: 0 (no caching) for the default 500 ms drain", () => {
    expect(dnsTtlSeconds(500)).toBe(0);
    expect(dnsTtlSeconds(999)).toBe(0);
    expect(dnsTtlSeconds(1_000)).toBe(1);
    expect(dnsTtlSeconds(2_500)).toBe(2);
  });

  it("is never longer than the drain, and never more than the cap", () => {
    for (let drainMs = 0; drainMs <= 20_000; drainMs += 137) {
      expect(dnsTtlSeconds(drainMs) * 1000, `drain ${drainMs} ms`).toBeLessThanOrEqual(drainMs);
      expect(dnsTtlSeconds(drainMs)).toBeLessThanOrEqual(MAX_DNS_TTL_SECONDS);
    }
    expect(dnsTtlSeconds(60_000)).toBe(MAX_DNS_TTL_SECONDS);
  });

  it("refuses a drain that is not a duration", () => {
    expect(() => dnsTtlSeconds(-1)).toThrow(RangeError);
    expect(() => dnsTtlSeconds(Number.NaN)).toThrow(RangeError);
  });
});
