import type Docker from "dockerode";
import type { Logger } from "pino";
import { fromCallback } from "xstate";
import type { ApplierEvent } from "../../machines/routing-consumer.ts";
import { dnsListenHosts } from "../../model/dns-address.ts";
import { dnsTtlSeconds } from "../../model/dns-zone.ts";
import { observeBridge } from "./bridge-address.ts";
import { ClusterDns } from "./cluster-dns.ts";
import { ClusterSources } from "./cluster-sources.ts";
import type { Upstream } from "./forward.ts";

export interface DnsDeps {
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
  log: Logger;
}

/**
 * The cluster DNS, the DNS's applier (of machines/routing-consumer.ts): answers
 * `*.ployz.internal` from the last projection it was sent (ready, committed instances only) and
 * forwards everything else to the host's resolver — for this host and this cluster's containers
 * only (`ClusterDns`, `ClusterSources`). A projection counts as applied once the DNS listens. A
 * socket that cannot be bound, or fails, ends the consumer (APPLIER_CRASHED): its supervisor
 * restarts it.
 */
export function createDnsApplier(deps: DnsDeps) {
  return fromCallback<ApplierEvent, { kind: "gateway" | "dns" }>(({ sendBack, receive }) => {
    const stop = new AbortController();
    const crash = (error: unknown) => {
      if (!stop.signal.aborted) sendBack({ type: "APPLIER_CRASHED", error: error instanceof Error ? error.message : String(error) });
    };
    const sources = new ClusterSources({ docker: deps.docker, clusterId: deps.clusterId, log: deps.log });
    const dns = new ClusterDns({ port: deps.port, upstream: deps.upstream, ttl: dnsTtlSeconds(deps.drainMs), trusts: (address) => sources.trusts(address), log: deps.log });
    dns.failed.catch(crash);

    let toldNoBridge = false;
    // dockerd (re)appearing is when its bridge may have appeared or moved: listen there too.
    const followBridge = async () => {
      const bridge = await observeBridge(deps.docker);
      const added = await dns.listenOn(dnsListenHosts(deps.host, bridge.address));
      if (added.length > 0) deps.log.info({ hosts: dns.hosts(), port: deps.port }, "the Docker bridge appeared: the cluster DNS listens there too, and containers started from now on use it");
      if (!bridge.address && !toldNoBridge) deps.log.warn({ why: bridge.why }, "no Docker bridge yet: containers cannot reach the cluster DNS until it appears");
      toldNoBridge ||= !bridge.address;
    };
    const listening = dns.listenOn([deps.host]).then(() => {
      sources.follow(stop.signal, followBridge).catch(crash);
    });
    listening.catch(crash);

    receive((event) => {
      dns.apply(event.projection);
      // A DNS that could not listen has applied nothing (its failure is reported once, by `crash`).
      void listening.then(() => sendBack({ type: "APPLIED", seq: event.projection.seq, excluded: [] }), () => undefined);
    });
    return () => {
      stop.abort();
      const close = () => void dns.close();
      void listening.then(close, close);
    };
  });
}
