import { z } from "zod";
import { normalizePrefix, routeSchema, type NamespaceSpec } from "./manifest.ts";

/** The DNS zone every namespace's services live in. */
export const CLUSTER_ZONE = "ployz.internal";

/**
 * The whole routing record of one service (Intent), appended by the namespace authority at
 * commit to stream ROUTING, subject `routing.<ns>.<service>`. Never a patch: a reader that has
 * the last record of every subject has the whole truth. A removed service gets `deleted: true`.
 */
export const routingRecordSchema = z.object({
  type: z.literal("routing"),
  namespace: z.string(),
  service: z.string(),
  commitSeq: z.number().int().positive(),
  revision: z.string(),
  deleted: z.boolean(),
  routes: z.array(routeSchema),
  ports: z.array(z.object({ container: z.number(), protocol: z.enum(["tcp", "udp"]) })),
  /** Ready, committed instances only. */
  backends: z.array(z.object({ slot: z.number(), machine: z.string(), address: z.string() })),
  at: z.string(),
});
export type RoutingRecord = z.infer<typeof routingRecordSchema>;

export const routingSubject = (namespace: string, service: string) => `routing.${namespace}.${service}`;
export const routingKey = (namespace: string, service: string) => `${namespace}/${service}`;

/** What gateways and DNS build from the stream: the last record of every service, by key. */
export interface RoutingProjection {
  records: Map<string, RoutingRecord>;
  /** Stream sequence of the last message applied. */
  seq: number;
}

export function emptyProjection(): RoutingProjection {
  return { records: new Map(), seq: 0 };
}

/** Applies one whole record; deleted services leave the projection. Pure: returns a new projection. */
/**
 * Applies one message of stream ROUTING (pure). A message that does not parse — or names another
 * service than its subject — takes that service out of the projection (what it holds is unknown)
 * and says why; it never passes for the record before it.
 */
export function applyRoutingMessage(projection: RoutingProjection, json: unknown, subject: string, seq: number): { state: RoutingProjection; invalid?: string } {
  const parsed = routingRecordSchema.safeParse(json);
  const [, namespace, service] = subject.split(".");
  const matches = parsed.success && parsed.data.namespace === namespace && parsed.data.service === service;
  if (parsed.success && matches) return { state: applyRoutingRecord(projection, parsed.data, seq) };
  const records = new Map(projection.records);
  if (namespace && service) records.delete(routingKey(namespace, service));
  const issue = parsed.success ? `it names ${parsed.data.namespace}/${parsed.data.service}` : `${parsed.error.issues[0]?.path.join(".") || "record"}: ${parsed.error.issues[0]?.message ?? "invalid"}`;
  return { state: { records, seq }, invalid: `not a routing record of ${namespace}/${service} (${issue}); left out` };
}

export function applyRoutingRecord(projection: RoutingProjection, record: RoutingRecord, seq: number): RoutingProjection {
  const records = new Map(projection.records);
  if (record.deleted) records.delete(routingKey(record.namespace, record.service));
  else records.set(routingKey(record.namespace, record.service), record);
  return { records, seq };
}

export { normalizePrefix };

/** A hostname + path prefix already served by another service. */
export interface RouteConflict {
  hostname: string;
  pathPrefix: string;
  service: string;
  owner: { namespace: string; service: string };
}

/**
 * Routes of `spec` that another namespace (or another service of the same spec) already serves:
 * the same hostname and path prefix can have one owner only.
 */
export function findRouteConflicts(spec: NamespaceSpec, others: Iterable<RoutingRecord>): RouteConflict[] {
  const owners = new Map<string, { namespace: string; service: string }>();
  for (const record of others) {
    if (record.namespace === spec.namespace || record.deleted) continue;
    for (const route of record.routes) for (const host of route.hostnames) owners.set(`${host}${normalizePrefix(route.pathPrefix)}`, { namespace: record.namespace, service: record.service });
  }
  const conflicts: RouteConflict[] = [];
  for (const [service, s] of Object.entries(spec.services)) {
    for (const route of s.routes) {
      for (const hostname of route.hostnames) {
        const key = `${hostname}${normalizePrefix(route.pathPrefix)}`;
        const owner = owners.get(key);
        const itself = owner?.namespace === spec.namespace && owner.service === service;
        if (owner && !itself) conflicts.push({ hostname, pathPrefix: route.pathPrefix, service, owner });
        else owners.set(key, { namespace: spec.namespace, service });
      }
    }
  }
  return conflicts;
}

/** Freshness of a routing consumer's projection. */
export const freshnessSchema = z.union([
  z.object({ state: z.literal("fresh") }),
  z.object({ state: z.literal("stale"), since: z.string(), reason: z.string() }),
  z.object({ state: z.literal("loading") }),
]);
export type Freshness = z.infer<typeof freshnessSchema>;
