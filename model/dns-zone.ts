import { CLUSTER_ZONE, type RoutingProjection, type RoutingRecord } from "./routing.ts";

export type DnsAnswer =
  | { type: "A"; name: string; ttl: number; data: string }
  | { type: "SRV"; name: string; ttl: number; data: { priority: number; weight: number; port: number; target: string } };

export interface DnsResult {
  rcode: "NOERROR" | "NXDOMAIN";
  answers: DnsAnswer[];
}

/** The longest TTL the cluster DNS ever gives, whatever the drain. */
export const MAX_DNS_TTL_SECONDS = 5;

/**
 * The TTL of every answer: never longer than the drain. After a deploy, the old instances stop
 * once every DNS serves the new routing and the drain has passed; a client that cached an answer
 * just before must have let it expire by then. A drain under a second gives TTL 0 (no caching).
 */
export function dnsTtlSeconds(drainMs: number): number {
  if (!Number.isFinite(drainMs) || drainMs < 0) throw new RangeError(`the drain must be a duration in milliseconds, got ${drainMs}`);
  return Math.min(MAX_DNS_TTL_SECONDS, Math.floor(drainMs / 1000));
}

/** True for names inside the cluster zone (answered here, never forwarded). */
export function inClusterZone(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  return n === CLUSTER_ZONE || n.endsWith(`.${CLUSTER_ZONE}`);
}

/**
 * Answers a question about the cluster zone from the routing projection. Only ready, committed
 * instances are ever answered: `<service>.<ns>.ployz.internal` (A: every backend; SRV: one per
 * backend and port), `<slot>.<service>.<ns>.ployz.internal` (A). Names that exist with nothing
 * ready answer NOERROR and no records; unknown names NXDOMAIN. Every answer carries `ttl`
 * (seconds, see `dnsTtlSeconds`).
 */
export function answerQuestion(projection: RoutingProjection, name: string, type: string, ttl: number): DnsResult {
  if (!inClusterZone(name)) return { rcode: "NXDOMAIN", answers: [] };
  const n = name.toLowerCase().replace(/\.$/, "");
  const labels = n.slice(0, -(CLUSTER_ZONE.length + 1)).split(".");
  if (n === CLUSTER_ZONE) return { rcode: "NOERROR", answers: [] };
  const records = [...projection.records.values()];
  if (labels.length === 1) {
    return records.some((r) => r.namespace === labels[0]) ? { rcode: "NOERROR", answers: [] } : { rcode: "NXDOMAIN", answers: [] };
  }
  if (labels.length === 2) {
    const record = find(records, labels[1]!, labels[0]!);
    if (!record) return { rcode: "NXDOMAIN", answers: [] };
    if (type === "A") return { rcode: "NOERROR", answers: record.backends.map((b) => ({ type: "A", name: n, ttl, data: b.address })) };
    if (type === "SRV") {
      return {
        rcode: "NOERROR",
        answers: record.backends.flatMap((b) =>
          record.ports.map((p) => ({
            type: "SRV" as const,
            name: n,
            ttl,
            data: { priority: 0, weight: 1, port: p.container, target: `${b.slot}.${record.service}.${record.namespace}.${CLUSTER_ZONE}` },
          })),
        ),
      };
    }
    return { rcode: "NOERROR", answers: [] };
  }
  if (labels.length === 3) {
    const record = find(records, labels[2]!, labels[1]!);
    const slot = Number(labels[0]);
    const backend = record?.backends.find((b) => b.slot === slot && String(slot) === labels[0]);
    if (!record || !backend) return { rcode: "NXDOMAIN", answers: [] };
    return { rcode: "NOERROR", answers: type === "A" ? [{ type: "A", name: n, ttl, data: backend.address }] : [] };
  }
  return { rcode: "NXDOMAIN", answers: [] };
}

function find(records: RoutingRecord[], namespace: string, service: string): RoutingRecord | undefined {
  return records.find((r) => r.namespace === namespace && r.service === service);
}
