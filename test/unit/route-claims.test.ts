import { describe, expect, it } from "vitest";
import { claimConflicts, claimZone, ROOT_ZONE, settleZone, wantedClaims, withClaims, type ClaimEntry, type ClaimsDoc } from "../../model/route-claims.ts";
import { aService, aSpec } from "../fixtures/deploy.ts";
import { aRoute } from "../fixtures/routing.ts";

const entry = (label: string, namespace: string, prefix = "/", seq = 1, service = "web"): ClaimEntry => ({ label, prefix, namespace, service, seq });
const doc = (...entries: ClaimEntry[]): ClaimsDoc => ({ type: "route-claims", zone: "example.com", entries });

describe("claimZone", () => {
  it("puts an exact hostname in its parent domain and a wildcard in its base, so a wildcard and what it covers share a zone", () => {
    expect(claimZone("shop.example.com")).toEqual({ zone: "example.com", label: "shop" });
    expect(claimZone("*.example.com")).toEqual({ zone: "example.com", label: "*" });
    expect(claimZone("example.com")).toEqual({ zone: "com", label: "example" });
    expect(claimZone("localhost")).toEqual({ zone: ROOT_ZONE, label: "localhost" });
  });
});

describe("wantedClaims", () => {
  it("claims every hostname and literal, normalized prefix a spec serves, by zone", () => {
    const spec = aSpec({ web: aService({ routes: [aRoute(["shop.example.com", "*.example.com"], { pathPrefix: "/api/" }), aRoute("example.org")] }) });
    expect(Object.fromEntries(wantedClaims("shop", spec, 7))).toEqual({
      "example.com": [entry("shop", "shop", "/api", 7), entry("*", "shop", "/api", 7)],
      org: [entry("example", "shop", "/", 7)],
    });
    expect(wantedClaims("shop", null, 7).size).toBe(0);
  });
});

describe("claimConflicts", () => {
  it("one hostname + prefix has one owner; other prefixes of the same hostname are free", () => {
    const owned = doc(entry("shop", "shop"));
    expect(claimConflicts("example.com", owned, "evil", [entry("shop", "evil")])).toEqual([
      { hostname: "shop.example.com", pathPrefix: "/", service: "web", owner: { namespace: "shop", service: "web", hostname: "shop.example.com", pathPrefix: "/" } },
    ]);
    expect(claimConflicts("example.com", owned, "evil", [entry("shop", "evil", "/api")])).toEqual([]);
    expect(claimConflicts("example.com", owned, "shop", [entry("shop", "shop")])).toEqual([]);
  });

  it("a wildcard conflicts with the exact hostnames another namespace serves under it, whatever the prefix, and the other way round", () => {
    const exact = doc(entry("shop", "shop"));
    expect(claimConflicts("example.com", exact, "evil", [entry("*", "evil", "/api")])).toHaveLength(1);
    const wildcard = doc(entry("*", "evil", "/api"));
    expect(claimConflicts("example.com", wildcard, "shop", [entry("blog", "shop", "/")])[0]).toMatchObject({ owner: { namespace: "evil", hostname: "*.example.com", pathPrefix: "/api" } });
    // the same namespace may have both
    expect(claimConflicts("example.com", exact, "shop", [entry("*", "shop", "/api")])).toEqual([]);
  });
});

describe("withClaims and settleZone", () => {
  it("before a commit it only adds; the roll-forward leaves exactly what the head serves", () => {
    const before = doc(entry("old", "shop", "/", 3), entry("shop", "blog", "/", 2));
    const added = withClaims("example.com", before, "shop", [entry("new", "shop", "/", 9)], "add");
    expect(added.entries.map((e) => `${e.namespace}:${e.label}`)).toEqual(["blog:shop", "shop:new", "shop:old"]);
    const settled = settleZone("example.com", added, "shop", [entry("new", "shop", "/", 10)]);
    expect(settled.kind === "changed" && settled.doc.entries.map((e) => `${e.namespace}:${e.label}`)).toEqual(["blog:shop", "shop:new"]);
  });

  it("releases what a deploy that never committed claimed, but not what the deploy in flight claimed", () => {
    const claimed = doc(entry("a", "shop", "/", 5), entry("b", "shop", "/", 8));
    expect(settleZone("example.com", claimed, "shop", [], 8)).toMatchObject({ kind: "changed", doc: { entries: [entry("b", "shop", "/", 8)] } });
    expect(settleZone("example.com", claimed, "shop", [])).toMatchObject({ kind: "changed", doc: { entries: [] } });
  });

  it("does not take a route another namespace claimed meanwhile, and says so", () => {
    const taken = doc(entry("shop", "evil", "/", 4));
    const settled = settleZone("example.com", taken, "shop", [entry("shop", "shop", "/", 9)]);
    expect(settled).toMatchObject({ kind: "unchanged", refused: [{ hostname: "shop.example.com", owner: { namespace: "evil" } }] });
  });

  it("changes nothing when the claims are already the head's (the sequences aside)", () => {
    const claimed = doc(entry("shop", "shop", "/", 5));
    expect(settleZone("example.com", claimed, "shop", [entry("shop", "shop", "/", 9)])).toEqual({ kind: "unchanged", refused: [] });
  });
});
