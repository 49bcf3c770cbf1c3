import { z } from "zod";
import { ActorEventQueue } from "./actor-events.ts";
import { compareText } from "./compare.ts";

/** What the inspector needs of one XState inspection event, already stripped of live refs. */
export type InspectionRecord =
  | { kind: "actor"; at: number; sessionId: string; id: string; parentSessionId?: string; src: string; chart?: string }
  | {
      kind: "snapshot";
      at: number;
      sessionId: string;
      status: string;
      stateValue?: unknown;
      context?: unknown;
      error?: unknown;
      eventType?: string;
    }
  | { kind: "event"; at: number; targetSessionId: string; eventType: string };

/** One live actor, as published on `ployz.actors.<machine>`. */
export const actorEntrySchema = z.object({
  sessionId: z.string(),
  id: z.string(),
  /** Ids from the root down, e.g. `node/participant/child`. */
  path: z.string(),
  parent: z.string().optional(),
  src: z.string(),
  /** The statechart's id (`createMachine({ id })`) when the actor runs one: what `top` draws. */
  chart: z.string().optional(),
  status: z.string(),
  state: z.string().optional(),
  since: z.number(),
  lastEvent: z.string().optional(),
  context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  error: z.string().optional(),
});
export type ActorEntry = z.infer<typeof actorEntrySchema>;

export const actorSnapshotMessageSchema = z.object({
  type: z.literal("actors"),
  machine: z.string(),
  at: z.string(),
  seq: z.number(),
  actors: z.array(actorEntrySchema),
});
export type ActorSnapshotMessage = z.infer<typeof actorSnapshotMessageSchema>;

/**
 * How long an actor that ended stays in the table: long enough for `top` to see how it ended
 * (a finished deploy coordinator's outcome then stays in its header), short enough that
 * finished work does not crowd the tree.
 */
export const FINISHED_ACTOR_KEEP_MS = 5_000;

const SECRET_KEY = /secret|password|passwd|token|seed|private|credential|key$/i;
const REDACTED = "[redacted]";

/** Flattens an XState state value: `{ a: "b" }` → `a.b`; parallel regions as full paths joined with `, `. */
export function formatStateValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  return leafPaths(value).join(", ");
}

function leafPaths(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return [String(value)];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => {
    const rest = inner === undefined || inner === null ? [] : leafPaths(inner);
    return rest.length ? rest.map((r) => `${key}.${r}`) : [key];
  });
}

/** Whether a key looks secret, remembered: contexts have few keys, seen again on every event. */
const secretKeys = new Map<string, boolean>();
function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeys.size < 10_000) secretKeys.set(key, secret);
  }
  return secret;
}

function sameScalars(a: NonNullable<ActorEntry["context"]>, b: ActorEntry["context"]): boolean {
  if (!b) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** Scalars of a context, secrets redacted; objects and functions are left out. */
export function summarizeContext(context: unknown): ActorEntry["context"] {
  if (!context || typeof context !== "object") return undefined;
  const out: NonNullable<ActorEntry["context"]> = {};
  for (const key in context as Record<string, unknown>) {
    if (!Object.hasOwn(context, key)) continue;
    const value = (context as Record<string, unknown>)[key];
    const type = typeof value;
    if (value === null || type === "string" || type === "number" || type === "boolean") {
      out[key] = value !== null && isSecretKey(key) ? REDACTED : (value as string | number | boolean | null);
    } else if (Array.isArray(value)) {
      out[`${key}.length`] = value.length;
    }
  }
  return out;
}

/**
 * The live table of a node's actors, built from inspection records. Pure: `apply` returns
 * whether anything changed; the inspector publishes `list()` when it did.
 */
export class ActorTable {
  private readonly entries = new Map<string, ActorEntry & { parentSession?: string }>();
  private readonly gone = new Map<string, number>();
  version = 0;
  /** Every event an actor processed, rate-limited, for `ployz.events.<machine>`. */
  readonly events = new ActorEventQueue();

  apply(record: InspectionRecord): boolean {
    switch (record.kind) {
      case "actor": {
        const parent = record.parentSessionId ? this.entries.get(record.parentSessionId) : undefined;
        this.entries.set(record.sessionId, {
          sessionId: record.sessionId,
          id: record.id,
          path: parent ? `${parent.path}/${record.id}` : record.id,
          ...(parent ? { parent: parent.sessionId, parentSession: parent.sessionId } : {}),
          src: record.src,
          ...(record.chart ? { chart: record.chart } : {}),
          status: "active",
          since: record.at,
        });
        this.gone.delete(record.sessionId);
        break;
      }
      case "snapshot": {
        const entry = this.entries.get(record.sessionId);
        if (!entry) return false;
        // Field by field, not by serializing: this runs for every event every actor processes.
        let changed = false;
        const set = <K extends keyof ActorEntry>(key: K, value: ActorEntry[K]) => {
          if (entry[key] === value) return;
          entry[key] = value;
          changed = true;
        };
        const state = formatStateValue(record.stateValue);
        if (state !== entry.state || record.status !== entry.status) set("since", record.at);
        set("status", record.status);
        if (state !== undefined) set("state", state);
        const context = summarizeContext(record.context);
        if (context && !sameScalars(context, entry.context)) {
          entry.context = context;
          changed = true;
        }
        if (record.error !== undefined) set("error", record.error instanceof Error ? record.error.message : String(record.error));
        if (record.eventType) {
          set("lastEvent", record.eventType);
          this.events.push({ at: record.at, sessionId: entry.sessionId, path: entry.path, event: record.eventType, ...(entry.state !== undefined ? { state: entry.state } : {}) });
        }
        if (record.status !== "active" && !this.gone.has(record.sessionId)) this.gone.set(record.sessionId, record.at);
        if (!changed) return false;
        break;
      }
      case "event": {
        const entry = this.entries.get(record.targetSessionId);
        if (!entry || record.eventType.startsWith("xstate.") || entry.lastEvent === record.eventType) return false;
        entry.lastEvent = record.eventType;
        break;
      }
    }
    this.version++;
    return true;
  }

  /** Forgets actors that ended more than `keepMs` ago. */
  prune(now: number, keepMs: number): void {
    for (const [sessionId, endedAt] of this.gone) {
      if (now - endedAt > keepMs) {
        this.entries.delete(sessionId);
        this.gone.delete(sessionId);
        this.version++;
      }
    }
  }

  list(): ActorEntry[] {
    return [...this.entries.values()]
      .map(({ parentSession: _p, ...entry }) => entry)
      .sort((a, b) => compareText(a.path, b.path));
  }
}
