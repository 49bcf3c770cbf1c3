import type { KV } from "@nats-io/kv";
import { JetStreamApiError } from "@nats-io/jetstream";
import { LeaseHeldError, PloyzError } from "../../model/errors.ts";
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
 * key `<machine>.<namespace>`. The bucket's max age expires a lock whose deploy stopped renewing.
 */
export async function acquireLock(locks: KV, machine: string, request: LockRequest): Promise<void> {
  const k = key(machine, request.namespace);
  const entry = await locks.get(k);
  const value: LockValue = { deployId: request.deployId, holder: request.holder, since: new Date().toISOString() };
  if (entry && entry.operation === "PUT") {
    const held = entry.json<LockValue>();
    if (held.deployId !== request.deployId) throw heldBy(machine, request.namespace, held);
    await locks.update(k, JSON.stringify({ ...value, since: held.since }), entry.revision);
    return;
  }
  try {
    await locks.create(k, JSON.stringify(value));
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10071) {
      const now = await locks.get(k);
      if (now?.operation === "PUT") throw heldBy(machine, request.namespace, now.json<LockValue>());
    }
    throw error;
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

function heldBy(machine: string, namespace: string, held: LockValue): LeaseHeldError {
  return new LeaseHeldError(`participant lock for namespace ${namespace} on machine ${machine} is held by deploy ${held.deployId} (${held.holder}, since ${held.since})`);
}
