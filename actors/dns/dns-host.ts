import type Docker from "dockerode";
import type { Logger } from "pino";
import { dnsListenHosts } from "../../model/dns-address.ts";
import type { RoutingProjection } from "../../model/routing.ts";
import type { WorkloadBridge } from "../../model/workload-bridge.ts";
import { observeBridge } from "./bridge-address.ts";
import { ClusterDns } from "./cluster-dns.ts";
import { ClusterSources } from "./cluster-sources.ts";
import type { Upstream } from "./forward.ts";

export interface DnsHostOptions {
  /** The address chosen at start; the Docker bridge is added once it appears. */
  host: string;
  port: number;
  /** The host's resolver, for every name outside the cluster zone. */
  upstream: Upstream | undefined;
  /** TTL of every answer, in seconds. */
  ttl: number;
  /** This machine's dockerd: which sources are this cluster's containers, and where its bridge is. */
  docker: Docker;
  /** The workload bridge, whose address it listens on too (default docker0). */
  bridge?: WorkloadBridge;
  clusterId: string;
  log: Logger;
}

export interface DnsHost {
  /** Resolves once it listens at `host`; rejects with the bind error. */
  listening: Promise<void>;
  /** Rejects when it cannot go on: a socket failed, or following dockerd did. */
  failed: Promise<never>;
  apply(projection: RoutingProjection): void;
  hosts(): string[];
  close(): Promise<void>;
}

/**
 * The cluster DNS of this machine (what `ployzd dns` runs): listens at the start address and,
 * once it exists, on the Docker bridge (looked for whenever dockerd comes back); answers this host
 * and this cluster's containers only (`ClusterSources`), from the projection last applied.
 */
export function hostClusterDns(options: DnsHostOptions): DnsHost {
  const stop = new AbortController();
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined); // the owner races it
  const sources = new ClusterSources({ docker: options.docker, clusterId: options.clusterId, log: options.log });
  const dns = new ClusterDns({ port: options.port, upstream: options.upstream, ttl: options.ttl, trusts: (address) => sources.trusts(address), log: options.log });
  dns.failed.catch(fail);

  let toldNoBridge = false;
  // dockerd (re)appearing is when its bridge may have appeared or moved: listen there too.
  const followBridge = async () => {
    const bridge = await observeBridge(options.docker, options.bridge);
    const added = await dns.listenOn(dnsListenHosts(options.host, bridge.address));
    if (added.length > 0) options.log.info({ hosts: dns.hosts(), port: options.port }, "the Docker bridge appeared: the cluster DNS listens there too, and containers started from now on use it");
    if (!bridge.address && !toldNoBridge) options.log.warn({ why: bridge.why }, "no Docker bridge yet: containers cannot reach the cluster DNS until it appears");
    toldNoBridge ||= !bridge.address;
  };
  const listening = dns.listenOn([options.host]).then(() => {
    sources.follow(stop.signal, followBridge).catch(fail);
  });
  listening.catch(fail);

  return {
    listening,
    failed,
    apply: (projection) => dns.apply(projection),
    hosts: () => dns.hosts(),
    async close() {
      stop.abort();
      await listening.catch(() => undefined); // a listen failure was reported through `failed` already
      await dns.close();
    },
  };
}
