import type Docker from "dockerode";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import { dnsListenHosts } from "../../model/dns-address.ts";
import { dnsTtlSeconds } from "../../model/dns-zone.ts";
import { CLUSTER_ZONE } from "../../model/routing.ts";
import type { RoutingConsumerStatus } from "../../model/routing-status.ts";
import { reportRouting } from "../routing/consumer-status.ts";
import { followRouting } from "../routing/follow-routing.ts";
import { observeBridge } from "./bridge-address.ts";
import { ClusterDns } from "./cluster-dns.ts";
import { ClusterSources } from "./cluster-sources.ts";
import type { Upstream } from "./forward.ts";

export interface DnsDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The address chosen at start (`planDnsAddress`); the Docker bridge is added once it appears. */
  host: string;
  port: number;
  /** The host's resolver, for every name outside the cluster zone. */
  upstream: Upstream | undefined;
  /** How long a replaced instance keeps serving: no answer may be cached for longer. */
  drainMs: number;
  /** This machine's dockerd: which sources are this cluster's containers, and where its bridge is. */
  docker: Docker;
  clusterId: string;
  status: RoutingConsumerStatus;
  log: Logger;
}

/**
 * The cluster DNS: answers `*.ployz.internal` from the routing projection (ready, committed
 * instances only) and forwards everything else to the host's resolver, for this host and this
 * cluster's containers only. Same consumer pattern as the gateway: reload on doubt, keep
 * answering from the last projection while stale.
 */
export function createDnsServer(deps: DnsDeps) {
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    const sources = new ClusterSources({ docker: deps.docker, clusterId: deps.clusterId, log: deps.log });
    const dns = new ClusterDns({ port: deps.port, upstream: deps.upstream, ttl: dnsTtlSeconds(deps.drainMs), trusts: (address) => sources.trusts(address), log: deps.log });
    await dns.listenOn([deps.host]);
    const report = reportRouting(deps.status, deps.log, (r) => [`${r.service}.${r.namespace}.${CLUSTER_ZONE}`]);
    let toldNoBridge = false;
    // dockerd (re)appearing is when its bridge may have appeared or moved: listen there too.
    const followBridge = async () => {
      const bridge = await observeBridge(deps.docker);
      const added = await dns.listenOn(dnsListenHosts(deps.host, bridge.address));
      if (added.length > 0) deps.log.info({ hosts: dns.hosts(), port: deps.port }, "the Docker bridge appeared: the cluster DNS listens there too, and containers started from now on use it");
      if (!bridge.address && !toldNoBridge) deps.log.warn({ why: bridge.why }, "no Docker bridge yet: containers cannot reach the cluster DNS until it appears");
      toldNoBridge ||= !bridge.address;
    };
    try {
      await Promise.race([
        dns.failed,
        sources.follow(signal, followBridge),
        followRouting({
          nc: deps.nc,
          js: deps.js,
          jsm: deps.jsm,
          signal,
          onReload: report.onReload,
          onFreshness: report.onFreshness,
          onProjection: (next) => {
            dns.apply(next);
            report.applied(next);
          },
        }),
      ]);
    } finally {
      await dns.close();
    }
  });
}
