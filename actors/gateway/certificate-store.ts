import { JetStreamApiError } from "@nats-io/jetstream";
import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
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
import { sleep } from "../sleep.ts";

/**
 * Certificates, the ACME account and order locks in KV `secrets`. Every value is one whole JSON
 * record. Nothing here logs a key or a PEM: only hostnames, dates and issuers.
 */

const isWrongLastSequence = (error: unknown) => error instanceof JetStreamApiError && error.code === 10071;

/** The certificate stored for a hostname, if there is a usable one. */
export async function readCertificate(secrets: KV, hostname: string): Promise<CertificateRecord | undefined> {
  const entry = await secrets.get(certificateKey(hostname));
  return entry?.operation === "PUT" ? usableCertificate(entry) : undefined;
}

export async function storeCertificate(secrets: KV, record: CertificateRecord): Promise<void> {
  await secrets.put(certificateKey(record.hostname), JSON.stringify(record));
}

/** A certificate record that parses and whose key matches its leaf; anything else is ignored. */
function usableCertificate(entry: KvEntry): CertificateRecord | undefined {
  try {
    const record = certificateRecordSchema.parse(entry.json());
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
export async function loadOrRegisterAccount(secrets: KV, settings: AcmeSettings, machineId: string, now: Date): Promise<AcmeAccountRecord> {
  const key = accountKey(directoryHash(settings.directory));
  const stored = await readAccount(secrets, key);
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
    await secrets.create(key, JSON.stringify(record));
    return record;
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const winner = await readAccount(secrets, key);
    if (!winner) throw error;
    return winner;
  }
}

/** Registers the stored account key again (the ACME server forgot it) and stores the new URL. */
export async function reregisterAccount(secrets: KV, settings: AcmeSettings, account: AcmeAccountRecord): Promise<AcmeAccountRecord> {
  const registered = await registerAccount(settings, account.keyPem);
  const record: AcmeAccountRecord = { ...account, accountUrl: registered.accountUrl };
  await secrets.put(accountKey(directoryHash(settings.directory)), JSON.stringify(record));
  return record;
}

async function readAccount(secrets: KV, key: string): Promise<AcmeAccountRecord | undefined> {
  const entry = await secrets.get(key);
  if (entry?.operation !== "PUT") return undefined;
  const parsed = acmeAccountRecordSchema.safeParse(entry.json());
  return parsed.success ? parsed.data : undefined;
}

/**
 * Takes `acme.order.<hostname>` with `create`, so one machine orders a hostname at a time. The
 * bucket has no TTL: a lock older than ORDER_LOCK_EXPIRY_MS is taken over with `update` on its
 * revision. Returns the revision to release with, or the lock another machine holds.
 */
export async function takeOrderLock(secrets: KV, hostname: string, machineId: string, now: Date): Promise<{ revision: number } | { heldBy: OrderLock }> {
  const key = orderLockKey(hostname);
  const mine: OrderLock = { type: "acme-order", hostname, machine: machineId, since: now.toISOString() };
  try {
    return { revision: await secrets.create(key, JSON.stringify(mine)) };
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
  }
  const entry = await secrets.get(key);
  const held = entry?.operation === "PUT" ? orderLockSchema.safeParse(entry.json()) : undefined;
  if (entry && held?.success && !orderLockExpired(held.data, now.getTime())) return { heldBy: held.data };
  // Expired, unreadable or released meanwhile: take it over, unless someone else is quicker.
  try {
    return { revision: entry ? await secrets.update(key, JSON.stringify(mine), entry.revision) : await secrets.create(key, JSON.stringify(mine)) };
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const now2 = await secrets.get(key);
    const other = now2?.operation === "PUT" ? orderLockSchema.safeParse(now2.json()) : undefined;
    return { heldBy: other?.success ? other.data : { ...mine, machine: "another machine" } };
  }
}

/** Releases an order lock this machine holds (a lock taken over meanwhile stays). */
export async function releaseOrderLock(secrets: KV, hostname: string, revision: number): Promise<void> {
  try {
    await secrets.delete(orderLockKey(hostname), { previousSeq: revision });
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
  }
}

/**
 * Follows every `cert.*` key: loads them all, then applies updates, and calls `onChange` with the
 * whole map (hostname → usable certificate) each time it changes. A reconnect, or a watch that
 * ends, reloads; while the store is unreachable the last map stays in use. Runs until `signal`.
 */
export async function watchCertificates(options: {
  nc: NatsConnection;
  secrets: KV;
  signal: AbortSignal;
  log: Logger;
  onChange: (certificates: ReadonlyMap<string, CertificateRecord>) => void;
}): Promise<void> {
  const { secrets, signal, log } = options;
  let stopCurrent: (() => void) | undefined;
  const statuses = options.nc.status()[Symbol.asyncIterator]();
  signal.addEventListener("abort", () => void statuses.return?.(), { once: true });
  void (async () => {
    for (let next = await statuses.next(); !next.done; next = await statuses.next()) if (next.value.type === "reconnect") stopCurrent?.();
  })().catch(() => undefined);
  let failedBefore = false;
  while (!signal.aborted) {
    try {
      // Updates are watched before the load, so none falls between; revisions drop stale ones.
      const updates = await secrets.watch({ key: CERTIFICATE_KEYS, include: KvWatchInclude.UpdatesOnly });
      stopCurrent = () => updates.stop();
      const onAbort = () => updates.stop();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        const revisions = new Map<string, number>();
        let certificates = new Map<string, CertificateRecord>();
        const apply = (entry: KvEntry) => {
          const hostname = entry.key.slice(certificateKey("").length);
          if ((revisions.get(hostname) ?? 0) >= entry.revision) return false;
          revisions.set(hostname, entry.revision);
          const record = entry.operation === "PUT" ? usableCertificate(entry) : undefined;
          if (entry.operation === "PUT" && !record) log.warn({ hostname }, "ignoring an unusable certificate record in KV secrets");
          certificates = new Map(certificates);
          if (record && record.hostname === hostname) certificates.set(hostname, record);
          else certificates.delete(hostname);
          return true;
        };
        for await (const key of await secrets.keys(CERTIFICATE_KEYS)) {
          const entry = await secrets.get(key);
          if (entry) apply(entry);
        }
        options.onChange(certificates);
        if (failedBefore) log.info("certificate watch resumed");
        failedBefore = false;
        for await (const entry of updates) if (apply(entry)) options.onChange(certificates);
      } finally {
        signal.removeEventListener("abort", onAbort);
        updates.stop();
      }
    } catch (error) {
      if (signal.aborted) break;
      if (!failedBefore) log.warn({ error: error instanceof Error ? error.message : String(error) }, "certificate watch failed; serving the certificates it had");
      failedBefore = true;
    }
    await sleep(1_000, signal);
  }
}

