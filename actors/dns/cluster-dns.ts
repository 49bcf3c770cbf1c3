import type { Logger } from "pino";
import { respondToQuery, serverFailure } from "../../model/dns-respond.ts";
import { DnsUpstreamError } from "../../model/dns-errors.ts";
import { CLUSTER_ZONE, emptyProjection, type RoutingProjection } from "../../model/routing.ts";
import { forwardQuery, UpstreamHealth, type Upstream } from "./forward.ts";
import { listenDns, type DnsListener, type DnsPeer } from "./listen.ts";

export interface ClusterDnsOptions {
  port: number;
  /** The host's resolver, for trusted askers' names outside the cluster zone; none: REFUSED. */
  upstream: Upstream | undefined;
  /** The TTL of every answer, in seconds (never longer than the drain). */
  ttl: number;
  /** May this source use the DNS (answers and forwarding)? A promise when that needs asking. */
  trusts: (address: string) => boolean | Promise<boolean>;
  log: Logger;
}

/**
 * The serving side of the cluster DNS: UDP and TCP listeners on one port at each of its
 * addresses, every message decided by `respondToQuery` against the projection it was last given
 * (`apply`), forwarding for trusted askers. Where the projection comes from is not its business.
 */
export class ClusterDns {
  private projection: RoutingProjection = emptyProjection();
  private rotation = 0;
  private readonly listeners = new Map<string, DnsListener>();
  private readonly health: UpstreamHealth;
  private fail!: (error: unknown) => void;
  /** Rejects when a listener fails after it was bound. */
  readonly failed: Promise<never>;

  constructor(private readonly options: ClusterDnsOptions) {
    this.health = new UpstreamHealth(options.log);
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined); // raced by the owner; never an unhandled rejection
  }

  /** Answers come from `projection` from now on (whole, never patched). */
  apply(projection: RoutingProjection): void {
    this.projection = projection;
  }

  /** The addresses it listens on. */
  hosts(): string[] {
    return [...this.listeners.keys()];
  }

  /** Listens on every host in `hosts` it does not listen on yet; returns those added. Rejects with the bind error. */
  async listenOn(hosts: readonly string[]): Promise<string[]> {
    const added: string[] = [];
    for (const host of hosts) {
      if (this.listeners.has(host)) continue;
      const listener = await listenDns({ host, port: this.options.port, handle: this.handle, onError: this.onError });
      listener.failed.catch((error: unknown) => this.fail(error));
      this.listeners.set(host, listener);
      added.push(host);
    }
    return added;
  }

  async close(): Promise<void> {
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(listeners.map((l) => l.close()));
  }

  private readonly handle = (message: Uint8Array, from: DnsPeer): Uint8Array | undefined | Promise<Uint8Array | undefined> => {
    const trusted = this.options.trusts(from.address);
    return trusted instanceof Promise ? trusted.then((t) => this.answer(message, from, t)) : this.answer(message, from, trusted);
  };

  private answer(message: Uint8Array, from: DnsPeer, trusted: boolean): Uint8Array | undefined | Promise<Uint8Array> {
    this.rotation = (this.rotation + 1) % 0x7fffffff;
    const decision = respondToQuery(message, { transport: from.transport, trusted }, { projection: this.projection, ttl: this.options.ttl, canForward: this.options.upstream !== undefined, rotation: this.rotation });
    if (decision.type === "drop") return undefined;
    if (decision.type === "reply") {
      if (!trusted) this.options.log.debug({ source: from.address, transport: from.transport }, "refused a query from a source that is not this cluster's");
      return decision.bytes;
    }
    const upstream = this.options.upstream!;
    if (upstream.port === this.options.port && this.listeners.has(upstream.host)) {
      // resolv.conf names this very server: forwarding would loop through ourselves.
      this.health.failed(new DnsUpstreamError(`the host's resolver ${upstream.host}:${upstream.port} is the cluster DNS itself; names outside ${CLUSTER_ZONE} cannot be resolved`));
      return serverFailure(decision.query, from.transport);
    }
    return forwardQuery(message, upstream, from.transport).then(
      (reply) => {
        this.health.answered();
        return reply;
      },
      (error: unknown) => {
        this.health.failed(error);
        return serverFailure(decision.query, from.transport);
      },
    );
  }

  private readonly onError = (error: unknown, from: DnsPeer): void => {
    this.options.log.warn({ err: error, source: from.address, transport: from.transport }, "a DNS query could not be answered");
  };
}
