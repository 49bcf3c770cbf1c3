import { z } from "zod";
import type { RoutingProjection } from "./routing.ts";

/**
 * Gateway certificates and the ACME account: secrets in KV `tls`, one whole JSON record per
 * key. `cert.<hostname>` holds a certificate any gateway may serve; `acme.account.<hash>` the
 * account for one ACME directory; `acme.order.<hostname>` says which machine is ordering a
 * hostname right now. Only hostname, notAfter and issuer ever leave the store (status, logs).
 */

export const CERTIFICATE_KEYS = "cert.>";
export const certificateKey = (hostname: string) => `cert.${hostname}`;
export const orderLockKey = (hostname: string) => `acme.order.${hostname}`;
/** `directoryHash`: a short hash of the directory URL, so each ACME server has its own account. */
export const accountKey = (directoryHash: string) => `acme.account.${directoryHash}`;

/** An order lock older than this belongs to a machine that died mid-order: the bucket has no TTL. */
export const ORDER_LOCK_EXPIRY_MS = 2 * 60_000;
/** Renew once less than this share of a certificate's validity remains. */
export const RENEW_WHEN_REMAINING = 1 / 3;
/** A failed order is retried after 30 s, doubling up to an hour. */
export const RETRY_MIN_MS = 30_000;
export const RETRY_MAX_MS = 60 * 60_000;

export const certificateRecordSchema = z.object({
  type: z.literal("certificate"),
  hostname: z.string(),
  /** Leaf first, then the chain, as the ACME server gave it. */
  certPem: z.string(),
  keyPem: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  /** The issuer's common name, e.g. "Pebble Intermediate CA 1a2b3c". */
  issuer: z.string(),
  directory: z.string(),
  obtainedAt: z.string(),
  obtainedBy: z.string(),
});
export type CertificateRecord = z.infer<typeof certificateRecordSchema>;

export const acmeAccountRecordSchema = z.object({
  type: z.literal("acme-account"),
  directory: z.string(),
  keyPem: z.string(),
  accountUrl: z.string(),
  email: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type AcmeAccountRecord = z.infer<typeof acmeAccountRecordSchema>;

export const orderLockSchema = z.object({
  type: z.literal("acme-order"),
  hostname: z.string(),
  machine: z.string(),
  since: z.string(),
});
export type OrderLock = z.infer<typeof orderLockSchema>;

/** What may be shown of a certificate: never its key, never its PEM. */
export const certificateSummarySchema = z.object({ hostname: z.string(), notAfter: z.string(), issuer: z.string() });
export type CertificateSummary = z.infer<typeof certificateSummarySchema>;

export function summarize(record: Pick<CertificateRecord, "hostname" | "notAfter" | "issuer">): CertificateSummary {
  return { hostname: record.hostname, notAfter: record.notAfter, issuer: record.issuer };
}

/** The gateway's TLS side as `ployzctl routes` shows it. */
export const gatewayTlsStatusSchema = z.object({
  /** Where HTTPS is served (`127.0.0.1:8443`), when it is. */
  https: z.string().optional(),
  acme: z.union([
    z.object({ configured: z.literal(false) }),
    z.object({ configured: z.literal(true), directory: z.string() }),
  ]),
  /** Certificates this gateway serves (obtained by any machine). */
  certificates: z.array(certificateSummarySchema),
  /** `tls: acme` hostnames without a certificate yet, and why (ordering, waiting to retry, unsupported). */
  waiting: z.array(z.object({ hostname: z.string(), reason: z.string() })),
});
export type GatewayTlsStatus = z.infer<typeof gatewayTlsStatusSchema>;

/** A failed order of one hostname on this machine: when, how often in a row, and why. */
export interface OrderFailure {
  at: number;
  attempts: number;
  error: string;
}

/** The hostnames that `tls: acme` routes ask a certificate for, sorted. */
export function acmeHostnames(projection: RoutingProjection): string[] {
  const hosts = new Set<string>();
  for (const record of projection.records.values()) {
    if (record.deleted) continue;
    for (const route of record.routes) if (route.tls === "acme") for (const h of route.hostnames) hosts.add(h);
  }
  return [...hosts].sort();
}

/** Why a hostname cannot get a certificate through http-01, or undefined when it can. */
export function unsupportedReason(hostname: string): string | undefined {
  if (hostname.startsWith("*.")) return "wildcard hostnames need a dns-01 challenge, which Ployz does not do";
  return undefined;
}

/** When a certificate should be renewed: once less than a third of its validity remains. */
export function renewAt(certificate: Pick<CertificateRecord, "notBefore" | "notAfter">): number {
  const notBefore = Date.parse(certificate.notBefore);
  const notAfter = Date.parse(certificate.notAfter);
  return notAfter - (notAfter - notBefore) * RENEW_WHEN_REMAINING;
}

export function renewalDue(certificate: Pick<CertificateRecord, "notBefore" | "notAfter">, now: number): boolean {
  return now >= renewAt(certificate);
}

export function orderLockExpired(lock: Pick<OrderLock, "since">, now: number): boolean {
  return now - Date.parse(lock.since) > ORDER_LOCK_EXPIRY_MS;
}

export function retryDelay(attempts: number): number {
  return Math.min(RETRY_MIN_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}

export interface CertificatePlan {
  /** Hostnames to order now, in order. */
  order: string[];
  /** Why the other hostnames without a usable certificate wait. */
  waiting: Array<{ hostname: string; reason: string }>;
  /** When to look again (ms since the epoch): the next renewal or retry; undefined when nothing is due ever. */
  nextCheck: number | undefined;
}

/**
 * Which certificates this machine should order now: wanted hostnames without a certificate or
 * due for renewal, unless a recent order of theirs failed (they wait for the retry delay).
 * Pure: the clock is `now`, the store's state is passed in.
 */
export function planCertificates(input: {
  wanted: readonly string[];
  certificates: ReadonlyMap<string, Pick<CertificateRecord, "notBefore" | "notAfter">>;
  failures: ReadonlyMap<string, OrderFailure>;
  /** Hostnames another machine is ordering, until when its lock holds. */
  orderedElsewhere?: ReadonlyMap<string, { machine: string; until: number }>;
  now: number;
}): CertificatePlan {
  const order: string[] = [];
  const waiting: CertificatePlan["waiting"] = [];
  let nextCheck: number | undefined;
  const later = (at: number) => (nextCheck = nextCheck === undefined ? at : Math.min(nextCheck, at));
  for (const hostname of input.wanted) {
    const unsupported = unsupportedReason(hostname);
    if (unsupported) {
      waiting.push({ hostname, reason: unsupported });
      continue;
    }
    const certificate = input.certificates.get(hostname);
    if (certificate && !renewalDue(certificate, input.now)) {
      later(renewAt(certificate));
      continue;
    }
    const elsewhere = input.orderedElsewhere?.get(hostname);
    if (elsewhere && elsewhere.until > input.now) {
      later(elsewhere.until);
      if (!certificate) waiting.push({ hostname, reason: `being ordered by ${elsewhere.machine}` });
      continue;
    }
    const failure = input.failures.get(hostname);
    const retryAt = failure ? failure.at + retryDelay(failure.attempts) : input.now;
    if (retryAt > input.now) {
      later(retryAt);
      if (!certificate) waiting.push({ hostname, reason: `order failed ${failure!.attempts} time(s), retrying at ${new Date(retryAt).toISOString()}: ${failure!.error}` });
      continue;
    }
    order.push(hostname);
  }
  return { order, waiting, nextCheck };
}

/** A certificate order's outcome (Status), stream STATUS, subject `status._cert.<machine>`: which hostname, never a key. */
export const certificateStatusRecordSchema = z.object({
  type: z.literal("certificate"),
  machine: z.string(),
  hostname: z.string(),
  outcome: z.enum(["obtained", "failed"]),
  notAfter: z.string().optional(),
  reason: z.string().optional(),
  at: z.string(),
});
export type CertificateStatusRecord = z.infer<typeof certificateStatusRecordSchema>;
