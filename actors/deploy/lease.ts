import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { LeaseHeldError, LeaseLostError } from "../../model/errors.ts";
import { fromStore, storeUnavailable } from "../store/store-errors.ts";
import { appendFence } from "./commits.ts";

/** Who holds a namespace's deploy lease: KV `leases`, key `deploy.<namespace>`. */
export interface LeaseValue {
  holder: string;
  deployId: string;
  since: string;
  /** Which run of the holder's ployzd took it (absent in leases of older versions). */
  incarnation?: string;
}

/** A lease taken: the KV revision to renew it with, and the fence token every later write carries. */
export interface HeldLease {
  revision: number;
  token: number;
  warnings: string[];
}

const leaseKey = (namespace: string) => `deploy.${namespace}`;
const WRONG_LAST_SEQUENCE = 10071;

/**
 * Takes the namespace's deploy lease or fails at once naming the holder, then fences the
 * namespace (model/fencing.ts): the fence's sequence is the token. The bucket's max age (NATS
 * 2.9 has no per-key TTL) expires a lease whose holder stopped renewing it.
 */
export async function acquireLease(leases: KV, js: JetStreamClient, jsm: JetStreamManager, namespace: string, value: LeaseValue): Promise<HeldLease> {
  const revision = await createLease(leases, namespace, value);
  try {
    const fence = await appendFence(js, jsm, { namespace, deployId: value.deployId, holder: value.holder, at: new Date().toISOString() });
    return { revision, token: fence.seq, warnings: fence.warnings };
  } catch (error) {
    await releaseLease(leases, namespace, value, revision).catch(() => undefined); // the fence failure is what the caller hears
    throw error;
  }
}

async function createLease(leases: KV, namespace: string, value: LeaseValue): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await leases.create(leaseKey(namespace), JSON.stringify(value));
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE)) throw storeUnavailable(error, `the deploy lease of ${namespace}`);
      // A lease this machine's earlier ployzd took died with it: nobody else can renew it.
      if (value.incarnation && (await breakOrphanedLease(leases, namespace, value.holder, value.incarnation))) continue;
      const held = await readLease(leases, namespace);
      if (held) throw leaseHeld(namespace, held);
      // The holder released it between our create and our read: try once more, then say so.
      if (attempt >= 2) throw new LeaseHeldError(`deploy lease for namespace ${namespace} changed hands twice while this deploy tried to take it`, { hint: "try again" });
    }
  }
}

/**
 * Renews the lease at `revision` and returns the new revision. A renewal that lost a race (wrong
 * last sequence) keeps the lease when the stored entry is still ours; LeaseLostError when it is
 * someone else's or gone; StoreUnavailableError when the store did not answer (not a loss yet:
 * the holder tries again until its lease could have expired).
 */
export async function renewLease(leases: KV, namespace: string, value: LeaseValue, revision: number): Promise<number> {
  try {
    return await leases.update(leaseKey(namespace), JSON.stringify(value), revision);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE)) throw storeUnavailable(error, `the deploy lease of ${namespace}`);
  }
  const entry = await fromStore(`the deploy lease of ${namespace}`, () => leases.get(leaseKey(namespace)));
  if (entry?.operation !== "PUT") throw new LeaseLostError(`the deploy lease of namespace ${namespace} expired`);
  const held = entry.json<LeaseValue>();
  if (held.deployId !== value.deployId) throw new LeaseLostError(`the deploy lease of namespace ${namespace} is now held by ${held.holder} (deploy ${held.deployId})`);
  // Still ours: an earlier renewal landed without its answer reaching us.
  return await fromStore(`the deploy lease of ${namespace}`, () => leases.update(leaseKey(namespace), JSON.stringify(value), entry.revision));
}

/** Releases the lease if it is still ours (at `revision`, or at a later revision of our own renewals). */
export async function releaseLease(leases: KV, namespace: string, value: LeaseValue, revision: number): Promise<void> {
  try {
    await leases.delete(leaseKey(namespace), { previousSeq: revision });
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE)) throw storeUnavailable(error, `the deploy lease of ${namespace}`);
  }
  const entry = await fromStore(`the deploy lease of ${namespace}`, () => leases.get(leaseKey(namespace)));
  if (entry?.operation === "PUT" && entry.json<LeaseValue>().deployId === value.deployId) {
    await fromStore(`the deploy lease of ${namespace}`, () => leases.delete(leaseKey(namespace), { previousSeq: entry.revision }));
  }
}

/** The current holder of a namespace's lease, if any. */
export async function readLease(leases: KV, namespace: string): Promise<LeaseValue | undefined> {
  const entry = await fromStore(`the deploy lease of ${namespace}`, () => leases.get(leaseKey(namespace)));
  return entry?.operation === "PUT" ? entry.json<LeaseValue>() : undefined;
}

/**
 * Deletes the namespace's lease when this machine holds it from an earlier run of ployzd (its
 * incarnation differs): that process is gone (one ployzd per data directory), so the deploy it
 * stood for is provably over. Returns the deploy id of the lease it broke.
 */
export async function breakOrphanedLease(leases: KV, namespace: string, machineId: string, incarnation: string): Promise<string | undefined> {
  const entry = await fromStore(`the deploy lease of ${namespace}`, () => leases.get(leaseKey(namespace)));
  if (entry?.operation !== "PUT") return undefined;
  const held = entry.json<LeaseValue>();
  if (held.holder !== machineId || held.incarnation === incarnation) return undefined;
  try {
    await leases.delete(leaseKey(namespace), { previousSeq: entry.revision });
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return undefined; // it changed meanwhile: not the one we judged
    throw storeUnavailable(error, `the deploy lease of ${namespace}`);
  }
  return held.deployId;
}

function leaseHeld(namespace: string, held: LeaseValue): LeaseHeldError {
  return new LeaseHeldError(`deploy lease for namespace ${namespace} is held by ${held.holder} (deploy ${held.deployId}, since ${held.since})`, {
    hint: "wait for that deploy to finish; a crashed holder's lease expires within 15 s",
  });
}
