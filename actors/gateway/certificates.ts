import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import {
  ORDER_LOCK_EXPIRY_MS,
  planCertificates,
  renewalDue,
  type CertificatePlan,
  type CertificateRecord,
  type OrderFailure,
} from "../../model/certificates.ts";
import { AcmeAccountUnknownError, orderCertificate, type AcmeSettings, type Http01Challenge } from "./acme.ts";
import { loadOrRegisterAccount, readCertificate, releaseOrderLock, reregisterAccount, storeCertificate, takeOrderLock } from "./certificate-store.ts";

/** An order that takes longer is abandoned (well before its lock could expire and be taken over). */
const ORDER_TIMEOUT_MS = 90_000;
/** Look again at least this often, even when nothing seems due. */
const MAX_NAP_MS = 60 * 60_000;

export interface OrderCertificatesOptions {
  tls: KV;
  settings: AcmeSettings;
  machineId: string;
  log: Logger;
  signal: AbortSignal;
  /** The `tls: acme` hostnames the routing projection asks for, right now. */
  wanted: () => readonly string[];
  /** The certificates the gateway knows, right now (from the watch, and from this routine). */
  certificates: () => ReadonlyMap<string, CertificateRecord>;
  /** A certificate this routine obtained or found under the lock: serve it at once. */
  onCertificate: (record: CertificateRecord) => void;
  /** Serve an http-01 challenge (resolves once Caddy answers it), and stop serving it. */
  publish: (challenge: Http01Challenge) => Promise<void>;
  withdraw: (challenge: Http01Challenge) => Promise<void>;
  /** Told of every order's outcome, to record it as Status (`ployzctl events`). */
  onOrder?: (outcome: { hostname: string; outcome: "obtained"; notAfter: string } | { hostname: string; outcome: "failed"; reason: string }) => void;
  /** What waits and why, after every plan (for `ployzctl routes`). */
  onPlan: (plan: CertificatePlan, ordering: string | undefined) => void;
}

/** A routine that orders certificates; `wake()` makes it look again (routes or certificates changed). */
export interface CertificateOrders {
  wake(): void;
  done: Promise<void>;
}

/**
 * Orders the certificates `tls: acme` routes need and renews them once a third of their validity
 * is left, one hostname at a time, under the order lock `acme.order.<hostname>` so no two
 * machines order the same hostname. The decision is `planCertificates` (pure); a failed order is
 * retried with a growing delay, and never stops the gateway.
 */
export function orderCertificates(options: OrderCertificatesOptions): CertificateOrders {
  const { log, signal } = options;
  const failures = new Map<string, OrderFailure>();
  const orderedElsewhere = new Map<string, { machine: string; until: number }>();
  let dirty = true;
  let wakeNap: (() => void) | undefined;
  const wake = () => {
    dirty = true;
    wakeNap?.();
  };

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (dirty || signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wakeNap = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      wakeNap = done;
    });

  const obtain = async (hostname: string): Promise<void> => {
    const lock = await takeOrderLock(options.tls, hostname, options.machineId, new Date());
    if ("heldBy" in lock) {
      orderedElsewhere.set(hostname, { machine: lock.heldBy.machine, until: Date.parse(lock.heldBy.since) + ORDER_LOCK_EXPIRY_MS });
      log.info({ hostname, machine: lock.heldBy.machine }, "another machine is ordering this certificate");
      return;
    }
    try {
      await withTimeout(orderUnderLock(hostname), ORDER_TIMEOUT_MS, `ordering a certificate for ${hostname} took longer than ${ORDER_TIMEOUT_MS / 1000} s`);
    } finally {
      await releaseOrderLock(options.tls, hostname, lock.revision).catch((error: unknown) =>
        // the lock has a maximum age: left held, it lapses; say so, the next order waits for it
        log.warn({ hostname, err: error }, "could not release the certificate order lock; it lapses at its maximum age"),
      );
    }
  };

  const orderUnderLock = async (hostname: string): Promise<void> => {
    // Under the lock, the store is the truth: another machine may have just stored one.
    const stored = await readCertificate(options.tls, hostname);
    if (stored && !renewalDue(stored, Date.now())) {
      options.onCertificate(stored);
      return;
    }
    let account = await loadOrRegisterAccount(options.tls, options.settings, options.machineId, new Date());
    const order = () => orderCertificate({ settings: options.settings, account, hostname, publish: options.publish, withdraw: options.withdraw });
    let issued;
    try {
      issued = await order();
    } catch (error) {
      if (!(error instanceof AcmeAccountUnknownError)) throw error;
      log.warn({ directory: options.settings.directory }, "the ACME server does not know the stored account; registering its key again");
      account = await reregisterAccount(options.tls, options.settings, account);
      issued = await order();
    }
    const record: CertificateRecord = {
      type: "certificate",
      hostname,
      ...issued,
      directory: options.settings.directory,
      obtainedAt: new Date().toISOString(),
      obtainedBy: options.machineId,
    };
    await storeCertificate(options.tls, record);
    options.onCertificate(record);
    options.onOrder?.({ hostname, outcome: "obtained", notAfter: record.notAfter });
    log.info({ hostname, notAfter: record.notAfter, issuer: record.issuer, renewed: Boolean(stored) }, "certificate obtained");
  };

  const done = (async () => {
    while (!signal.aborted) {
      dirty = false;
      const now = Date.now();
      for (const [hostname, held] of orderedElsewhere) if (held.until <= now || options.certificates().has(hostname)) orderedElsewhere.delete(hostname);
      const plan = planCertificates({ wanted: options.wanted(), certificates: options.certificates(), failures, orderedElsewhere, now });
      options.onPlan(plan, plan.order[0]);
      const hostname = plan.order[0];
      if (hostname) {
        try {
          await obtain(hostname);
          failures.delete(hostname);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const attempts = (failures.get(hostname)?.attempts ?? 0) + 1;
          failures.set(hostname, { at: Date.now(), attempts, error: message });
          options.onOrder?.({ hostname, outcome: "failed", reason: message });
          log.warn({ hostname, attempts, error: message }, "could not obtain a certificate; will retry");
        }
        continue; // one hostname at a time, then plan again with what changed
      }
      await nap(Math.min(MAX_NAP_MS, plan.nextCheck === undefined ? MAX_NAP_MS : Math.max(0, plan.nextCheck - Date.now())));
    }
  })();
  return { wake, done };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
