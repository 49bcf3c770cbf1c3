import type { KV } from "@nats-io/kv";
import { JetStreamApiError } from "@nats-io/jetstream";
import { PloyzError } from "../../model/errors.ts";
import { readLease } from "../deploy/lease.ts";
import { fromStore, storeUnavailable } from "../store/store-errors.ts";
import type { LockRequest } from "../../model/participant.ts";

/** A participant was asked to act for a deploy that does not hold its lock. */
export class LockNotHeldError extends PloyzError {
  override readonly code = "lock-not-held";
}

interface LockValue {
  deployId: string;
  holder: string;
  since: string;
}

const key = (machine: string, namespace: string) => `${machine}.${namespace}`;

/**
 * Takes (or refreshes, for the same deploy) this machine's lock for a namespace: KV `locks`,
 * key `<machine>.<namespace>`. Only the deploy that holds the namespace's lease may take it; a
 * lock another deploy still has is taken over (that deploy lost the lease, so it may act no
 * more). The bucket's max age expires a lock whose deploy stopped renewing. Returns the deploy
 * whose lock was taken over, if any.
 */
export async function acquireLock(locks: KV, leases: KV, machine: string, request: LockRequest): Promise<string | undefined> {
  const lease = await readLease(leases, request.namespace);
  if (lease?.deployId !== request.deployId) {
    throw new LockNotHeldError(
      `deploy ${request.deployId} may not lock namespace ${request.namespace} on machine ${machine}: ${lease ? `deploy ${lease.deployId} (${lease.holder}) holds its lease` : "it does not hold its lease"}`,
    );
  }
  const k = key(machine, request.namespace);
  const value: LockValue = { deployId: request.deployId, holder: request.holder, since: new Date().toISOString() };
  for (let attempt = 1; ; attempt++) {
    const entry = await fromStore(`lock ${k}`, () => locks.get(k));
    const held = entry?.operation === "PUT" ? entry.json<LockValue>() : undefined;
    try {
      if (entry) await locks.update(k, JSON.stringify(held?.deployId === request.deployId ? { ...value, since: held.since } : value), entry.revision);
      else await locks.create(k, JSON.stringify(value));
      return held && held.deployId !== request.deployId ? held.deployId : undefined;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === 10071) || attempt >= 3) throw storeUnavailable(error, `lock ${k}`);
    }
  }
}

/** Throws unless `deployId` holds this machine's lock for the namespace right now. */
export async function assertLockHeld(locks: KV, machine: string, namespace: string, deployId: string): Promise<void> {
  const entry = await locks.get(key(machine, namespace));
  if (entry?.operation === "PUT") {
    const held = entry.json<LockValue>();
    if (held.deployId === deployId) return;
    throw new LockNotHeldError(`deploy ${deployId} does not hold the lock for namespace ${namespace} on machine ${machine}: deploy ${held.deployId} does`);
  }
  throw new LockNotHeldError(`deploy ${deployId} does not hold the lock for namespace ${namespace} on machine ${machine} (not taken, or expired)`);
}

/** Releases the lock if `deployId` holds it; releasing a lock one does not hold changes nothing. */
export async function releaseLock(locks: KV, machine: string, namespace: string, deployId: string): Promise<boolean> {
  const entry = await locks.get(key(machine, namespace));
  if (entry?.operation !== "PUT" || entry.json<LockValue>().deployId !== deployId) return false;
  await locks.delete(key(machine, namespace), { previousSeq: entry.revision });
  return true;
}
