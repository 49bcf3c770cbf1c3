import { errorText } from "../../model/errors.ts";
import { parseJsonOrUndefined } from "../../model/json.ts";
import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { z } from "zod";

/** What a KV follower tells its owner. */
export type FollowKvEvent<S> =
  /** The whole state: after the load, and after every change it applied. */
  | { type: "STATE"; state: S }
  /** An entry that does not parse: left out (its key holds nothing in the state). */
  | { type: "INVALID"; key: string; reason: string }
  /** Doubt: the follower has stopped and must be started again (a reload). */
  | { type: "RECONNECTED" }
  | { type: "FOLLOW_FAILED"; error: string }
  /** NATS is away: the follower waits (its state is stale meanwhile). */
  | { type: "DISCONNECTED" };

export interface FollowKvOptions<S> {
  nc: NatsConnection;
  kv: KV;
  /** Only these keys (a KV filter such as `cert.>`); every key when absent. */
  keys?: string;
  initial: () => S;
  /** Applies one entry (pure): its JSON, or null for a delete/purge. The next state, and why the entry does not parse when it does not. */
  apply: (state: S, key: string, json: unknown | null) => { state: S; invalid?: string };
}

/**
 * Follows a KV bucket whose values are whole records: watches updates first (so none falls
 * between), loads every key, then applies each update newer than what it holds, reporting the
 * whole state each time. At the first doubt (a reconnect, the watch ending, an error) it reports
 * it and stops: its owner starts it again. The one way a bucket is followed (certificates,
 * membership). Returns the way to stop it.
 */
export function followKv<S>(options: FollowKvOptions<S>, emit: (event: FollowKvEvent<S>) => void): () => void {
  let ended = false;
  let stopWatch: (() => void) | undefined;
  const statuses = options.nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
  const end = (event?: FollowKvEvent<S>) => {
    if (ended) return;
    ended = true;
    stopWatch?.();
    statuses.stop?.();
    if (event) emit(event);
  };
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect") emit({ type: "DISCONNECTED" });
      else if (status.type === "reconnect") end({ type: "RECONNECTED" });
    }
  })().catch((error: unknown) => end({ type: "FOLLOW_FAILED", error: `NATS status: ${errorText(error)}` }));

  void (async () => {
    const updates = await options.kv.watch({ ...(options.keys ? { key: options.keys } : {}), include: KvWatchInclude.UpdatesOnly });
    stopWatch = () => updates.stop();
    if (ended) return updates.stop();
    const revisions = new Map<string, number>();
    let state = options.initial();
    const apply = (entry: KvEntry): boolean => {
      if ((revisions.get(entry.key) ?? 0) >= entry.revision) return false;
      revisions.set(entry.key, entry.revision);
      const next = options.apply(state, entry.key, entry.operation === "PUT" ? parseJsonOrUndefined(entry.string()) : null);
      state = next.state;
      if (next.invalid !== undefined) emit({ type: "INVALID", key: entry.key, reason: next.invalid });
      return true;
    };
    for await (const key of await options.kv.keys(options.keys)) {
      const entry = await options.kv.get(key);
      if (entry) apply(entry);
    }
    if (ended) return;
    emit({ type: "STATE", state });
    for await (const entry of updates) if (apply(entry)) emit({ type: "STATE", state });
    end({ type: "FOLLOW_FAILED", error: "the watch ended" });
  })().catch((error: unknown) => end({ type: "FOLLOW_FAILED", error: errorText(error) }));

  return () => end();
}

/**
 * Follows a bucket of whole records, each under the key its `keyOf` names (`followKv`): the set
 * of records that parse with `schema` and sit under their own key. Any other entry is reported
 * (INVALID) and left out, so nothing is taken from it.
 */
export function followKvRecords<R>(
  nc: NatsConnection,
  kv: KV,
  schema: z.ZodType<R>,
  keyOf: (record: R) => string,
  emit: (event: FollowKvEvent<ReadonlyMap<string, R>>) => void,
): () => void {
  return followKv<ReadonlyMap<string, R>>(
    {
      nc,
      kv,
      initial: () => new Map(),
      apply: (state, key, json) => {
        const next = new Map(state);
        next.delete(key);
        if (json === null) return { state: next };
        const parsed = schema.safeParse(json);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          return { state: next, invalid: `${issue.path.join(".") || "(top level)"}: ${issue.message}` };
        }
        if (keyOf(parsed.data) !== key) return { state: next, invalid: `the record names ${keyOf(parsed.data)}, not its key` };
        return { state: next.set(key, parsed.data) };
      },
    },
    emit,
  );
}
