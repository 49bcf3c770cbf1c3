import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { LeaseHeldError } from "../../model/errors.ts";

/** Who holds a namespace's deploy lease: KV `leases`, key `deploy.<namespace>`. */
export interface LeaseValue {
  holder: string;
  deployId: string;
  since: string;
}

const leaseKey = (namespace: string) => `deploy.${namespace}`;

/**
 * Takes the namespace's deploy lease or fails at once naming the holder. The bucket's max age
 * (NATS 2.9 has no per-key TTL) expires a lease whose holder stopped renewing it.
 */
export async function acquireLease(leases: KV, namespace: string, value: LeaseValue): Promise<number> {
  try {
    return await leases.create(leaseKey(namespace), JSON.stringify(value));
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10071) {
      const entry = await leases.get(leaseKey(namespace));
      if (entry?.operation === "PUT") throw leaseHeld(namespace, entry.json<LeaseValue>());
      // The holder released it between our create and get: one more try, then report.
      return await leases.create(leaseKey(namespace), JSON.stringify(value)).catch(() => {
        throw new LeaseHeldError(`deploy lease for namespace ${namespace} is contended; try again`);
      });
    }
    throw error;
  }
}

/** Renews the lease; fails if someone else holds it now (ours expired). Returns the new revision. */
export async function renewLease(leases: KV, namespace: string, value: LeaseValue, revision: number): Promise<number> {
  try {
    return await leases.update(leaseKey(namespace), JSON.stringify(value), revision);
  } catch (error) {
    const entry = await leases.get(leaseKey(namespace)).catch(() => null);
    if (entry?.operation === "PUT" && entry.json<LeaseValue>().deployId !== value.deployId) throw leaseHeld(namespace, entry.json<LeaseValue>());
    throw error;
  }
}

/** Releases the lease if this revision still holds it. */
export async function releaseLease(leases: KV, namespace: string, revision: number): Promise<void> {
  await leases.delete(leaseKey(namespace), { previousSeq: revision });
}

/** The current holder of a namespace's lease, if any. */
export async function readLease(leases: KV, namespace: string): Promise<LeaseValue | undefined> {
  const entry = await leases.get(leaseKey(namespace));
  return entry?.operation === "PUT" ? entry.json<LeaseValue>() : undefined;
}

function leaseHeld(namespace: string, held: LeaseValue): LeaseHeldError {
  return new LeaseHeldError(`deploy lease for namespace ${namespace} is held by ${held.holder} (deploy ${held.deployId}, since ${held.since})`, {
    hint: "wait for that deploy to finish; a crashed holder's lease expires within 15 s",
  });
}
