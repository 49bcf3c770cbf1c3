import { parseJsonOrUndefined } from "../../model/json.ts";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  accountKey,
  acmeAccountRecordSchema,
  CERTIFICATE_KEYS,
  certificateKey,
  certificateRecordSchema,
  orderLockExpired,
  orderLockKey,
  orderLockSchema,
  type AcmeAccountRecord,
  type CertificateRecord,
  type OrderLock,
} from "../../model/certificates.ts";
import { describeCertificate, directoryHash, registerAccount, type AcmeSettings } from "./acme.ts";
import { followKv } from "../nats/follow-kv.ts";
import { sleep } from "../sleep.ts";

/**
 * Certificates, the ACME account and order locks in KV `tls`. Every value is one whole JSON
 * record. Nothing here logs a key or a PEM: only hostnames, dates and issuers.
 */

const isWrongLastSequence = (error: unknown) => error instanceof JetStreamApiError && error.code === 10071;

/** The certificate stored for a hostname, if there is a usable one. */
export async function readCertificate(tls: KV, hostname: string): Promise<CertificateRecord | undefined> {
  const entry = await tls.get(certificateKey(hostname));
  return entry?.operation === "PUT" ? usableCertificate(parseJsonOrUndefined(entry.string())) : undefined;
}

export async function storeCertificate(tls: KV, record: CertificateRecord): Promise<void> {
  await tls.put(certificateKey(record.hostname), JSON.stringify(record));
}

/** A certificate record that parses and whose key matches its leaf; anything else is ignored. */
function usableCertificate(json: unknown): CertificateRecord | undefined {
  try {
    const record = certificateRecordSchema.parse(json);
    describeCertificate(record.certPem, record.keyPem);
    return record;
  } catch {
    return undefined;
  }
}

/**
 * The ACME account for this directory: the one in the store, or a new one registered and stored.
 * Two machines registering at once both succeed at the ACME server; the first to store wins and
 * the other uses that one.
 */
export async function loadOrRegisterAccount(tls: KV, settings: AcmeSettings, machineId: string, now: Date): Promise<AcmeAccountRecord> {
  const key = accountKey(directoryHash(settings.directory));
  const stored = await readAccount(tls, key);
  if (stored) return stored;
  const registered = await registerAccount(settings);
  const record: AcmeAccountRecord = {
    type: "acme-account",
    directory: settings.directory,
    keyPem: registered.keyPem,
    accountUrl: registered.accountUrl,
    ...(settings.email ? { email: settings.email } : {}),
    createdAt: now.toISOString(),
    createdBy: machineId,
  };
  try {
    await tls.create(key, JSON.stringify(record));
    return record;
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const winner = await readAccount(tls, key);
    if (!winner) throw error;
    return winner;
  }
}

/** Registers the stored account key again (the ACME server forgot it) and stores the new URL. */
export async function reregisterAccount(tls: KV, settings: AcmeSettings, account: AcmeAccountRecord): Promise<AcmeAccountRecord> {
  const registered = await registerAccount(settings, account.keyPem);
  const record: AcmeAccountRecord = { ...account, accountUrl: registered.accountUrl };
  await tls.put(accountKey(directoryHash(settings.directory)), JSON.stringify(record));
  return record;
}

async function readAccount(tls: KV, key: string): Promise<AcmeAccountRecord | undefined> {
  const entry = await tls.get(key);
  if (entry?.operation !== "PUT") return undefined;
  const parsed = acmeAccountRecordSchema.safeParse(entry.json());
  return parsed.success ? parsed.data : undefined;
}

/**
 * Takes `acme.order.<hostname>` with `create`, so one machine orders a hostname at a time. The
 * bucket has no TTL: a lock older than ORDER_LOCK_EXPIRY_MS is taken over with `update` on its
 * revision. Returns the revision to release with, or the lock another machine holds.
 */
export async function takeOrderLock(tls: KV, hostname: string, machineId: string, now: Date): Promise<{ revision: number } | { heldBy: OrderLock }> {
  const key = orderLockKey(hostname);
  const mine: OrderLock = { type: "acme-order", hostname, machine: machineId, since: now.toISOString() };
  try {
    return { revision: await tls.create(key, JSON.stringify(mine)) };
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
  }
  const entry = await tls.get(key);
  const held = entry?.operation === "PUT" ? orderLockSchema.safeParse(entry.json()) : undefined;
  if (entry && held?.success && !orderLockExpired(held.data, now.getTime())) return { heldBy: held.data };
  // Expired, unreadable or released meanwhile: take it over, unless someone else is quicker.
  try {
    return { revision: entry ? await tls.update(key, JSON.stringify(mine), entry.revision) : await tls.create(key, JSON.stringify(mine)) };
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const now2 = await tls.get(key);
    const other = now2?.operation === "PUT" ? orderLockSchema.safeParse(now2.json()) : undefined;
    return { heldBy: other?.success ? other.data : { ...mine, machine: "another machine" } };
  }
}

/** Releases an order lock this machine holds (a lock taken over meanwhile stays). */
export async function releaseOrderLock(tls: KV, hostname: string, revision: number): Promise<void> {
  try {
    await tls.delete(orderLockKey(hostname), { previousSeq: revision });
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
  }
}

/**
 * Follows every `cert.*` key (`followKv`) and calls `onChange` with the whole map (hostname →
 * usable certificate) each time it changes. A record that does not parse, or whose key does not
 * match its certificate, is left out and logged. A reconnect, or a watch that ends, reloads (after
 * a short pause when it keeps failing); while the store is unreachable the last map stays in use.
 * Runs until `signal`.
 */
export async function watchCertificates(options: {
  nc: NatsConnection;
  tls: KV;
  signal: AbortSignal;
  log: Logger;
  onChange: (certificates: ReadonlyMap<string, CertificateRecord>) => void;
}): Promise<void> {
  const { signal, log } = options;
  let failures = 0;
  while (!signal.aborted) {
    const doubt = await new Promise<string | undefined>((resolve) => {
      const stop = followKv<Map<string, CertificateRecord>>(
        {
          nc: options.nc,
          kv: options.tls,
          keys: CERTIFICATE_KEYS,
          initial: () => new Map(),
          apply: (state, key, json) => {
            const hostname = key.slice(certificateKey("").length);
            const next = new Map(state);
            next.delete(hostname);
            if (json === null) return { state: next };
            const record = usableCertificate(json);
            if (record?.hostname === hostname) return { state: next.set(hostname, record) };
            return { state: next, invalid: "not a usable certificate record for its key" };
          },
        },
        (event) => {
          if (event.type === "STATE") {
            if (failures > 0) log.info("certificate watch resumed");
            failures = 0;
            options.onChange(event.state);
          } else if (event.type === "INVALID") log.warn({ key: event.key, reason: event.reason }, "ignoring a certificate record in KV tls");
          else if (event.type === "RECONNECTED") resolve("reconnected to NATS");
          else if (event.type === "FOLLOW_FAILED") resolve(event.error);
        },
      );
      signal.addEventListener(
        "abort",
        () => {
          stop();
          resolve(undefined);
        },
        { once: true },
      );
    });
    if (doubt === undefined || signal.aborted) return;
    failures++;
    if (failures === 1) log.warn({ reason: doubt }, "certificate watch reloads");
    await sleep(Math.min(500 * 2 ** (failures - 1), 5_000), signal);
  }
}
