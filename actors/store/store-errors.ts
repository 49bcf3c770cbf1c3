import { PloyzError, StoreUnavailableError } from "../../model/errors.ts";

/**
 * Turns a failed store call into a StoreUnavailableError naming what was being read or written,
 * keeping typed errors as they are. "Not found" is never an error here: callers get null for it
 * from the client itself, so an unreachable store can never pass for an empty one.
 */
export function storeUnavailable(error: unknown, what: string): Error {
  if (error instanceof PloyzError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`could not read or write ${what}: ${message}`, {
    hint: "is the machine's nats-server up, and does it reach the machines that hold the store? (`ployzctl status`, `ployzctl machine ls`)",
    cause: error,
  });
}

/** Runs one store call, translating its failure with `storeUnavailable`. */
export async function fromStore<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storeUnavailable(error, what);
  }
}
