import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import { renderCaddyConfig, type GatewayListen } from "../../model/caddy-config.ts";
import type { RoutingConsumerStatus } from "../../model/routing-status.ts";
import { followRouting } from "../routing/follow-routing.ts";

export interface GatewayDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  adminUrl: string;
  listen: GatewayListen;
  /** Shared with the participant, which reports it on `observe.routes`. */
  status: RoutingConsumerStatus;
  log: Logger;
}

/**
 * The gateway: a routing consumer that turns the projection into a whole Caddy config and loads
 * it through Caddy's admin API on loopback. If loading fails the actor crashes and its supervisor
 * restarts it; Caddy keeps serving the last config it accepted meanwhile.
 */
export function createGateway(deps: GatewayDeps) {
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    let loaded = "";
    await followRouting({
      nc: deps.nc,
      js: deps.js,
      jsm: deps.jsm,
      signal,
      onReload: (reason) => {
        deps.status.reloads++;
        deps.status.lastReload = { at: new Date().toISOString(), reason };
        if (reason !== "start") deps.log.info({ reason }, "gateway reloads its projection");
      },
      onFreshness: (freshness) => {
        if (freshness.state !== deps.status.freshness.state) {
          if (freshness.state === "stale") deps.log.warn({ since: freshness.since, reason: freshness.reason }, "routing projection stale; serving the last good one");
          else if (freshness.state === "fresh") deps.log.info("routing projection fresh");
        }
        deps.status.freshness = freshness;
      },
      onProjection: async (projection) => {
        const config = JSON.stringify(renderCaddyConfig(projection, deps.listen));
        if (config !== loaded) {
          const response = await fetch(`${deps.adminUrl}/load`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: config,
            signal: AbortSignal.timeout(10_000),
          });
          if (!response.ok) throw new Error(`caddy refused the config: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
          loaded = config;
        }
        deps.status.seq = projection.seq;
        deps.status.services = [...projection.records.values()].map((r) => ({
          namespace: r.namespace,
          service: r.service,
          commitSeq: r.commitSeq,
          hostnames: r.routes.flatMap((route) => route.hostnames.map((h) => `${h}${route.pathPrefix}`)),
          backends: r.backends.map((b) => b.address),
        }));
        deps.status.appliedAt = new Date().toISOString();
      },
    });
  });
}
