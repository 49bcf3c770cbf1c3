import { z } from "zod";
import { gatewayTlsStatusSchema } from "./certificates.ts";
import { CLUSTER_ZONE, freshnessSchema, type Freshness, type RoutingProjection, type RoutingRecord } from "./routing.ts";

/** What a routing consumer (gateway or DNS) serves right now, as its participant reports it. */
export const routingConsumerStatusSchema = z.object({
  kind: z.enum(["gateway", "dns"]),
  /** Where it listens (the gateway's HTTP address, the DNS server's). */
  listen: z.string(),
  seq: z.number(),
  freshness: freshnessSchema,
  reloads: z.number(),
  lastReload: z.object({ at: z.string(), reason: z.string() }).optional(),
  appliedAt: z.string().optional(),
  services: z.array(
    z.object({ namespace: z.string(), service: z.string(), commitSeq: z.number(), hostnames: z.array(z.string()), backends: z.array(z.string()) }),
  ),
  /** The gateway's HTTPS side: certificates served (hostname, notAfter, issuer only) and ACME state. */
  tls: gatewayTlsStatusSchema.optional(),
  /** Records it left out, and why: one bad record never blocks the rest. */
  excluded: z.array(z.object({ namespace: z.string(), service: z.string(), reason: z.string() })).default([]),
  /** Records of the stream that do not parse (the last few). */
  invalid: z.array(z.object({ subject: z.string(), seq: z.number(), reason: z.string() })).default([]),
  /** Why the last projection could not be put into effect (the one before stays). */
  applyError: z.string().optional(),
});
export type RoutingConsumerStatus = z.input<typeof routingConsumerStatusSchema>;

export function newRoutingConsumerStatus(kind: "gateway" | "dns", listen: string): RoutingConsumerStatus {
  return { kind, listen, seq: 0, freshness: { state: "loading" }, reloads: 0, services: [] };
}

/** What a routing consumer statechart (machines/routing-consumer.ts) holds, as the status reads it. */
export interface RoutingConsumerSnapshot {
  value: unknown;
  context: {
    kind: "gateway" | "dns";
    listen: string;
    projection: RoutingProjection | undefined;
    appliedSeq: number;
    appliedAt: number | undefined;
    excluded: RoutingConsumerStatus["excluded"];
    invalid: RoutingConsumerStatus["invalid"];
    applyError: string | undefined;
    reloads: number;
    lastReload: { at: number; reason: string } | undefined;
    staleSince: number | undefined;
    staleReason: string | undefined;
    tls: unknown;
  };
}

/** The names a consumer serves a record under: host+path for the gateway, DNS names for the DNS. */
export function servedNames(kind: "gateway" | "dns", record: RoutingRecord): string[] {
  return kind === "gateway" ? record.routes.flatMap((route) => route.hostnames.map((h) => `${h}${route.pathPrefix}`)) : [`${record.service}.${record.namespace}.${CLUSTER_ZONE}`];
}

/**
 * The status `observe.routes` reports, read from the consumer's snapshot (pure): fresh only while
 * it follows the stream without doubt and has put the latest projection into effect; loading
 * before its first projection; stale otherwise (with why).
 */
export function routingConsumerStatus(snapshot: RoutingConsumerSnapshot): RoutingConsumerStatus {
  const c = snapshot.context;
  const iso = (ms: number) => new Date(ms).toISOString();
  const following = JSON.stringify(snapshot.value) === JSON.stringify({ following: "fresh" });
  // fresh only once what it follows is also what it serves: a projection not yet applied (or
  // refused) is a stale one being served
  const behind = c.projection !== undefined && c.appliedSeq !== c.projection.seq;
  const freshness: Freshness =
    following && !behind
      ? { state: "fresh" }
      : c.projection === undefined
        ? { state: "loading" }
        : following
          ? { state: "stale", since: iso(c.appliedAt ?? c.lastReload?.at ?? Date.now()), reason: c.applyError ? `not applied: ${c.applyError}` : `applying #${c.projection.seq}` }
          : { state: "stale", since: iso(c.staleSince ?? Date.now()), reason: c.staleReason ?? "reloading" };
  return {
    kind: c.kind,
    listen: c.listen,
    seq: c.appliedSeq,
    freshness,
    reloads: c.reloads,
    ...(c.lastReload ? { lastReload: { at: iso(c.lastReload.at), reason: c.lastReload.reason } } : {}),
    ...(c.appliedAt === undefined ? {} : { appliedAt: iso(c.appliedAt) }),
    services: [...(c.projection?.records.values() ?? [])].map((r) => ({
      namespace: r.namespace,
      service: r.service,
      commitSeq: r.commitSeq,
      hostnames: servedNames(c.kind, r),
      backends: r.backends.map((b) => b.address),
    })),
    ...(c.tls ? { tls: c.tls as RoutingConsumerStatus["tls"] } : {}),
    excluded: c.excluded,
    invalid: c.invalid,
    ...(c.applyError ? { applyError: c.applyError } : {}),
  };
}

export const routesReplySchema = z.object({
  type: z.literal("routes"),
  machine: z.string(),
  at: z.string(),
  consumers: z.array(routingConsumerStatusSchema),
});
export type RoutesReply = z.infer<typeof routesReplySchema>;

/** `ployz.api.routes`: what every machine's gateway and DNS serve, asked live. */
export const clusterRoutesSchema = z.object({
  type: z.literal("cluster-routes"),
  at: z.string(),
  machines: z.array(
    z.union([
      z.object({ machine: z.string(), ok: z.literal(true), consumers: z.array(routingConsumerStatusSchema) }),
      z.object({ machine: z.string(), ok: z.literal(false), error: z.string() }),
    ]),
  ),
});
export type ClusterRoutes = z.infer<typeof clusterRoutesSchema>;
