import { z } from "zod";
import { routingRecordSchema, routingKey, type RoutingProjection } from "./routing.ts";

/**
 * The cluster DNS runs as its own process (`ployzd dns`), like Caddy: it outlives ployzd, so
 * containers keep resolving and the gateway's upstreams (looked up here every 50 ms) keep
 * resolving while ployzd restarts or after it is killed. ployzd starts it, or adopts the one
 * still running, and sends it every projection over a control socket; it keeps the last one in
 * its zone file and serves that from its first moment.
 */

const hostPort = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) });

/** What `ployzd dns` runs with (its config file, written by ployzd, 0600). */
export const dnsProcessConfigSchema = z.strictObject({
  /** The address chosen at start; the Docker bridge is added once it appears. */
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** The host's resolver, for names outside the cluster zone. */
  upstream: hostPort.optional(),
  /** TTL of every answer, in seconds (never longer than the drain). */
  ttl: z.number().int().min(0),
  /** Only this cluster's containers get answers. */
  clusterId: z.string().min(1),
  /** The control socket (HTTP over a unix socket in a 0700 directory). */
  controlSocket: z.string().min(1),
  /** The last projection applied, served at start before ployzd sends one. */
  zoneFile: z.string().min(1),
  logFile: z.string().min(1),
  /** The workload bridge whose address it listens on too, once it exists (absent: docker0). */
  bridge: z.strictObject({ interface: z.string().min(1), network: z.string().min(1) }).optional(),
});
export type DnsProcessConfig = z.infer<typeof dnsProcessConfigSchema>;

/** A projection as it crosses the control socket and sits in the zone file. */
export const wireProjectionSchema = z.strictObject({
  seq: z.number().int().min(0),
  records: z.array(routingRecordSchema),
});
export type WireProjection = z.infer<typeof wireProjectionSchema>;

export function toWire(projection: RoutingProjection): WireProjection {
  return { seq: projection.seq, records: [...projection.records.values()] };
}

export function fromWire(wire: WireProjection): RoutingProjection {
  return { seq: wire.seq, records: new Map(wire.records.map((r) => [routingKey(r.namespace, r.service), r])) };
}

/** `GET /status` of the control socket. */
export const dnsProcessStatusSchema = z.object({
  pid: z.number().int(),
  /** The config it runs with: ployzd adopts it only when that is the config it wants. */
  config: dnsProcessConfigSchema,
  /** Addresses it listens on. */
  hosts: z.array(z.string()),
  /** Sequence of the projection it answers from (0: none yet). */
  seq: z.number().int(),
});
export type DnsProcessStatus = z.infer<typeof dnsProcessStatusSchema>;

/** `PUT /projection` answers with what it applied. */
export const dnsAppliedSchema = z.object({ seq: z.number().int() });

/** Same config, field by field (whatever order the keys were written in). */
export function sameDnsConfig(a: DnsProcessConfig, b: DnsProcessConfig): boolean {
  const fields = (c: DnsProcessConfig) => JSON.stringify([c.host, c.port, c.upstream?.host ?? null, c.upstream?.port ?? null, c.ttl, c.clusterId, c.controlSocket, c.zoneFile, c.logFile, c.bridge?.interface ?? null, c.bridge?.network ?? null]);
  return fields(a) === fields(b);
}
