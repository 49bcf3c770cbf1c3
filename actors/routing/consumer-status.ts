import type { Logger } from "pino";
import type { RoutingProjection, RoutingRecord } from "../../model/routing.ts";
import type { RoutingConsumerStatus } from "../../model/routing-status.ts";
import type { FollowRoutingOptions } from "./follow-routing.ts";

/**
 * Keeps a routing consumer's status (what `ployzctl routes` shows) in step with `followRouting`:
 * reloads, freshness (its changes logged), and what the applied projection serves, each service
 * named as `namesOf` says (hostnames for the gateway, DNS names for the DNS).
 */
export function reportRouting(status: RoutingConsumerStatus, log: Logger, namesOf: (record: RoutingRecord) => string[]) {
  const callbacks: Pick<FollowRoutingOptions, "onReload" | "onFreshness"> = {
    onReload: (reason) => {
      status.reloads++;
      status.lastReload = { at: new Date().toISOString(), reason };
      if (reason !== "start") log.info({ reason }, `${status.kind} reloads its routing projection`);
    },
    onFreshness: (freshness) => {
      if (freshness.state !== status.freshness.state) {
        if (freshness.state === "stale") log.warn({ since: freshness.since, reason: freshness.reason }, "routing projection stale; serving the last good one");
        else if (freshness.state === "fresh" && status.freshness.state === "stale") log.info("routing projection fresh");
      }
      status.freshness = freshness;
    },
  };
  const applied = (projection: RoutingProjection) => {
    status.seq = projection.seq;
    status.appliedAt = new Date().toISOString();
    status.services = [...projection.records.values()].map((r) => ({
      namespace: r.namespace,
      service: r.service,
      commitSeq: r.commitSeq,
      hostnames: namesOf(r),
      backends: r.backends.map((b) => b.address),
    }));
  };
  return { ...callbacks, applied };
}
