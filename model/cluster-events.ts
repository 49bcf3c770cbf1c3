import { z } from "zod";
import { nodeStatusRecordSchema } from "./api.ts";
import { certificateStatusRecordSchema } from "./certificates.ts";
import { deployPhaseSchema, reconcileRecordSchema } from "./commit.ts";
import { execStatusRecordSchema } from "./exec.ts";
import { NAME_PATTERN } from "./names.ts";

/**
 * `ployzctl events`: the durable Status of the cluster (stream STATUS) as one line per fact.
 * Each Status record becomes one event with a time, a kind, the namespace or machine it is about,
 * and a one-line message. The daemon makes the lines (so observers never read raw records).
 */

export const CLUSTER_EVENT_KINDS = ["deploy", "reconcile", "placement", "exec", "node", "certificate", "unknown"] as const;
export type ClusterEventKind = (typeof CLUSTER_EVENT_KINDS)[number];

export const clusterEventSchema = z.object({
  /** The STATUS stream sequence: `--follow` asks for what comes after the last one it printed. */
  seq: z.number().int().positive(),
  at: z.string(),
  kind: z.enum(CLUSTER_EVENT_KINDS),
  namespace: z.string().optional(),
  machine: z.string().optional(),
  message: z.string(),
});
export type ClusterEvent = z.infer<typeof clusterEventSchema>;

/** At most this many events per answer; `--follow` and a long `--since` page on with `afterSeq`. */
export const EVENTS_PAGE = 500;

/** `ployz.api.events`: events of one namespace (or all) since a time or after a sequence. */
export const eventsRequestSchema = z
  .object({
    namespace: z.string().regex(NAME_PATTERN).optional(),
    /** Unix milliseconds: events at or after this time. */
    sinceMs: z.number().int().nonnegative().optional(),
    /** Events after this STATUS sequence (wins over `sinceMs`). */
    afterSeq: z.number().int().nonnegative().optional(),
    limit: z.number().int().positive().max(EVENTS_PAGE).default(EVENTS_PAGE),
  })
  .strict();
export type EventsRequest = z.input<typeof eventsRequestSchema>;

export const eventsReplySchema = z.object({
  type: z.literal("events"),
  events: z.array(clusterEventSchema),
  /** The last STATUS sequence read (also when it matched nothing): ask again after it. */
  lastSeq: z.number().int().nonnegative(),
  /** More events were there than one answer holds: ask again at once. */
  more: z.boolean(),
});
export type EventsReply = z.infer<typeof eventsReplySchema>;

/** The subject filter of an events query: one namespace's records, or every Status record. */
export function eventsFilter(namespace?: string): string {
  return namespace ? `status.${namespace}.>` : "status.>";
}

const MAX_MESSAGE = 300;

/** One line, at most 300 characters: newlines and runs of spaces become single spaces. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}

/** The event a Status message stands for; a record that does not parse is an `unknown` event that says so. */
export function eventFromStatus(seq: number, subject: string, json: unknown, storedAt: string): ClusterEvent {
  const [, scope, second] = subject.split(".");
  const namespace = scope && !scope.startsWith("_") ? scope : undefined;
  const base = { seq, ...(namespace ? { namespace } : {}) };
  const record = json as { type?: unknown } | null;
  const type = typeof record === "object" && record !== null ? record.type : undefined;
  const unreadable = (error: string): ClusterEvent => ({ ...base, at: storedAt, kind: "unknown", ...(scope?.startsWith("_") && second ? { machine: second } : {}), message: oneLine(`an unreadable Status record on ${subject}: ${error}`) });
  switch (type) {
    case "deploy": {
      const p = deployPhaseSchema.safeParse(json);
      if (!p.success) return unreadable(p.error.issues[0]?.message ?? "invalid");
      const r = p.data;
      const what = r.state === "started" ? "started" : r.state === "ok" ? "done" : "FAILED";
      return { ...base, at: r.at, kind: "deploy", machine: r.machine, message: oneLine(`deploy ${r.deployId} ${r.phase} ${what}${r.reason ? `: ${r.reason}` : ""}`) };
    }
    case "reconcile": {
      const p = reconcileRecordSchema.safeParse(json);
      if (!p.success) return unreadable(p.error.issues[0]?.message ?? "invalid");
      const r = p.data;
      const head = r.headSeq === null ? "" : ` (head ${r.headSeq})`;
      return { ...base, at: r.at, kind: "reconcile", machine: r.machine, message: oneLine(`reconciled${head}: ${r.actions.length ? r.actions.join("; ") : "nothing to do"}`) };
    }
    case "placement": {
      const r = json as { deployId?: unknown; commitSeq?: unknown; at?: unknown; explanations?: unknown };
      if (typeof r.at !== "string" || typeof r.deployId !== "string" || !Array.isArray(r.explanations)) return unreadable("not a placement record");
      const services = r.explanations.map((e) => (e as { service?: unknown }).service).filter((s): s is string => typeof s === "string");
      return { ...base, at: r.at, kind: "placement", message: oneLine(`placed ${services.join(", ") || "no services"} for deploy ${r.deployId}${typeof r.commitSeq === "number" ? ` (commit ${r.commitSeq})` : ""}`) };
    }
    case "exec": {
      const p = execStatusRecordSchema.safeParse(json);
      if (!p.success) return unreadable(p.error.issues[0]?.message ?? "invalid");
      const r = p.data;
      const who = r.user ? `${r.who} (${r.user})` : r.who;
      const end = r.event === "started" ? "started" : `ended${r.exitCode === undefined ? "" : ` with exit code ${r.exitCode}`}${r.reason ? `: ${r.reason}` : ""}`;
      return { ...base, at: r.at, kind: "exec", machine: r.machine, message: oneLine(`exec in ${r.service}#${r.slot} by ${who} ${end}: ${r.command}`) };
    }
    case "node": {
      const p = nodeStatusRecordSchema.safeParse(json);
      if (!p.success) return unreadable(p.error.issues[0]?.message ?? "invalid");
      const r = p.data;
      const what =
        r.event === "child-failed"
          ? `actor failed (crash loop): ${r.detail ?? "unknown"}`
          : r.event === "joined"
            ? `joined the cluster: ${r.detail ?? "through an invite"}`
            : `ployzd ${r.event} (version ${r.version})`;
      return { seq, at: r.at, kind: "node", machine: r.machine, message: oneLine(what) };
    }
    case "certificate": {
      const p = certificateStatusRecordSchema.safeParse(json);
      if (!p.success) return unreadable(p.error.issues[0]?.message ?? "invalid");
      const r = p.data;
      const what = r.outcome === "obtained" ? `certificate for ${r.hostname} obtained${r.notAfter ? `, valid until ${r.notAfter}` : ""}` : `certificate order for ${r.hostname} failed: ${r.reason ?? "unknown"}`;
      return { seq, at: r.at, kind: "certificate", machine: r.machine, message: oneLine(what) };
    }
    default:
      return unreadable(`unknown record type ${JSON.stringify(type)}`);
  }
}

/** An event as one line of text: time, kind, namespace or machine, message. */
export function formatEvent(event: ClusterEvent): string {
  const where = event.namespace ? `${event.namespace}${event.machine ? `@${event.machine}` : ""}` : event.machine ? `@${event.machine}` : "-";
  return `${event.at}  ${event.kind.padEnd(11)}  ${where.padEnd(20)}  ${event.message}`;
}
