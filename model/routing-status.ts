import { z } from "zod";
import { gatewayTlsStatusSchema } from "./certificates.ts";
import { freshnessSchema } from "./routing.ts";

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
});
export type RoutingConsumerStatus = z.infer<typeof routingConsumerStatusSchema>;

export function newRoutingConsumerStatus(kind: "gateway" | "dns", listen: string): RoutingConsumerStatus {
  return { kind, listen, seq: 0, freshness: { state: "loading" }, reloads: 0, services: [] };
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
