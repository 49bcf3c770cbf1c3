import { describe, expect, it } from "vitest";
import {
  acmeHostnames,
  orderLockExpired,
  planCertificates,
  renewAt,
  renewalDue,
  retryDelay,
  summarize,
  type CertificateRecord,
  type OrderFailure,
} from "../../model/certificates.ts";
import { aBackend, aProjection, aRoute, aRoutingRecord } from "../fixtures/routing.ts";

const DAY = 24 * 60 * 60_000;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(ms).toISOString();

/** A 90-day certificate issued at `issued` (ms), as Let's Encrypt gives them. */
const aCertificate = (hostname: string, issued = T0, days = 90) => ({ hostname, notBefore: at(issued), notAfter: at(issued + days * DAY) });

const plan = (input: {
  wanted: string[];
  certificates?: Array<ReturnType<typeof aCertificate>>;
  failures?: Record<string, OrderFailure>;
  orderedElsewhere?: Record<string, { machine: string; until: number }>;
  now: number;
}) =>
  planCertificates({
    wanted: input.wanted,
    certificates: new Map((input.certificates ?? []).map((c) => [c.hostname, c])),
    failures: new Map(Object.entries(input.failures ?? {})),
    orderedElsewhere: new Map(Object.entries(input.orderedElsewhere ?? {})),
    now: input.now,
  });

describe("renewal by notAfter and now", () => {
  const cert = aCertificate("shop.example.com");

  it("is due once less than a third of the validity remains: day 60 of 90", () => {
    expect(renewAt(cert)).toBe(T0 + 60 * DAY);
    expect(renewalDue(cert, T0 + 59 * DAY)).toBe(false);
    expect(renewalDue(cert, T0 + 60 * DAY)).toBe(true);
    expect(renewalDue(cert, T0 + 100 * DAY)).toBe(true); // expired: certainly due
  });

  it("scales with the validity the CA chose (pebble gives five years)", () => {
    const long = aCertificate("shop.example.com", T0, 5 * 365);
    expect(renewalDue(long, T0 + 3 * 365 * DAY)).toBe(false);
    expect(renewalDue(long, T0 + 4 * 365 * DAY)).toBe(true);
  });
});

describe("planCertificates", () => {
  it("orders every wanted hostname that has no certificate, and nothing else", () => {
    const p = plan({ wanted: ["a.example.com", "b.example.com"], certificates: [aCertificate("a.example.com")], now: T0 + DAY });

    expect(p.order).toEqual(["b.example.com"]);
    expect(p.waiting).toEqual([]);
    expect(p.nextCheck).toBe(T0 + 60 * DAY); // a's renewal
  });

  it("renews a certificate due for renewal, and keeps serving it meanwhile (not waiting)", () => {
    const p = plan({ wanted: ["a.example.com"], certificates: [aCertificate("a.example.com")], now: T0 + 61 * DAY });

    expect(p.order).toEqual(["a.example.com"]);
    expect(p.waiting).toEqual([]);
  });

  it("waits for the retry delay after a failed order, growing from 30 s to an hour", () => {
    const failures = { "a.example.com": { at: T0, attempts: 2, error: "connection refused" } };

    const soon = plan({ wanted: ["a.example.com"], failures, now: T0 + 59_000 });
    expect(soon.order).toEqual([]);
    expect(soon.nextCheck).toBe(T0 + 60_000);
    expect(soon.waiting).toEqual([
      { hostname: "a.example.com", reason: `order failed 2 time(s), retrying at ${at(T0 + 60_000)}: connection refused` },
    ]);
    expect(plan({ wanted: ["a.example.com"], failures, now: T0 + 60_000 }).order).toEqual(["a.example.com"]);
    expect([1, 2, 3, 7, 8, 20].map(retryDelay)).toEqual([30_000, 60_000, 120_000, 1_920_000, 3_600_000, 3_600_000]);
  });

  it("leaves a hostname another machine is ordering until its lock expires", () => {
    const orderedElsewhere = { "a.example.com": { machine: "m2", until: T0 + 120_000 } };

    const p = plan({ wanted: ["a.example.com"], orderedElsewhere, now: T0 });
    expect(p).toEqual({ order: [], waiting: [{ hostname: "a.example.com", reason: "being ordered by m2" }], nextCheck: T0 + 120_000 });
    expect(plan({ wanted: ["a.example.com"], orderedElsewhere, now: T0 + 120_000 }).order).toEqual(["a.example.com"]);
  });

  it("never orders a wildcard: http-01 cannot prove one", () => {
    const p = plan({ wanted: ["*.example.com"], now: T0 });

    expect(p.order).toEqual([]);
    expect(p.waiting).toEqual([{ hostname: "*.example.com", reason: "wildcard hostnames need a dns-01 challenge, which Ployz does not do" }]);
    expect(p.nextCheck).toBeUndefined();
  });
});

describe("order locks", () => {
  it("expire after two minutes (the secrets bucket has no TTL)", () => {
    const lock = { since: at(T0) };
    expect(orderLockExpired(lock, T0 + 120_000)).toBe(false);
    expect(orderLockExpired(lock, T0 + 120_001)).toBe(true);
  });
});

describe("acmeHostnames", () => {
  it("takes the hostnames of `tls: acme` routes only, once each, sorted", () => {
    const secure = { ...aRoute(["b.example.com", "a.example.com"]), tls: "acme" as const };
    const web = aRoutingRecord({ service: "web", routes: [secure, aRoute("plain.example.com")], backends: [aBackend(0)] });
    const api = aRoutingRecord({ service: "api", routes: [{ ...aRoute("a.example.com", { pathPrefix: "/api" }), tls: "acme" }] });

    expect(acmeHostnames(aProjection(web, api))).toEqual(["a.example.com", "b.example.com"]);
  });
});

describe("what a certificate shows", () => {
  it("is its hostname, notAfter and issuer: never a key", () => {
    const record: CertificateRecord = {
      type: "certificate",
      hostname: "a.example.com",
      certPem: "-----BEGIN CERTIFICATE-----",
      keyPem: "-----BEGIN PRIVATE KEY-----",
      notBefore: at(T0),
      notAfter: at(T0 + 90 * DAY),
      issuer: "Pebble Intermediate CA 123456",
      directory: "https://127.0.0.1:14000/dir",
      obtainedAt: at(T0),
      obtainedBy: "m1",
    };
    expect(summarize(record)).toEqual({ hostname: "a.example.com", notAfter: at(T0 + 90 * DAY), issuer: "Pebble Intermediate CA 123456" });
  });
});
