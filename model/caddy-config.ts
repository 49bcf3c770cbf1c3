import { CLUSTER_ZONE, normalizePrefix, type RoutingProjection, type RoutingRecord } from "./routing.ts";
import { compareText } from "./compare.ts";

export interface GatewayListen {
  /** Caddy's admin API: loopback only. */
  admin: string;
  /** The plain-HTTP listener, e.g. `127.0.0.1:8080` (loopback or overlay, never every interface). */
  http: string;
  /** The HTTPS listener for `tls: acme` routes, e.g. `127.0.0.1:8443`; none when absent. */
  https?: string;
  /**
   * The cluster DNS (`host:port`). When given, backends are resolved from it (A records of
   * `<service>.<ns>.ployz.internal`, refreshed every 50 ms) instead of being written into the
   * config, so a deploy that only replaces instances changes nothing in Caddy's config: no
   * reload, and none of the connections a reload resets.
   */
  dns?: string;
}

/** The Host the gateway's requests to Caddy's admin socket carry. */
export const CADDY_ADMIN_HOST = "caddy-admin";

/** What the gateway serves over TLS, and the ACME http-01 challenges it answers right now. */
export interface GatewayTls {
  /** Certificates from KV `secrets`, obtained by any machine: PEM chain and key, per hostname. */
  certificates: ReadonlyArray<{ hostname: string; certPem: string; keyPem: string }>;
  challenges: ReadonlyArray<{ token: string; keyAuthorization: string }>;
}

export const NO_TLS: GatewayTls = { certificates: [], challenges: [] };

/** Where an ACME server fetches the answer to an http-01 challenge. */
export const acmeChallengePath = (token: string) => `/.well-known/acme-challenge/${token}`;

interface FlatRoute {
  hostnames: string[];
  pathPrefix: string;
  port: number;
  record: RoutingRecord;
}

/** A record the gateway leaves out, and why. */
export interface ExcludedRoute {
  namespace: string;
  service: string;
  reason: string;
}

/**
 * The records the gateway can serve, each checked on its own, and the ones it leaves out, so one
 * bad record never makes Caddy refuse the whole config. Records reach here parsed by the schema
 * (hostnames, literal prefixes). Two records that serve one hostname + path prefix can only come
 * from a store written around the claims (model/route-claims.ts): which one is legitimate cannot
 * be told here, so both are left out, each naming the other.
 */
export function servableProjection(projection: RoutingProjection): { projection: RoutingProjection; excluded: ExcludedRoute[] } {
  const servers = new Map<string, string[]>();
  const servedBy = (record: RoutingRecord) => [...new Set(record.routes.flatMap((route) => route.hostnames.map((h) => `${h}${normalizePrefix(route.pathPrefix)}`)))];
  for (const record of projection.records.values()) {
    for (const served of servedBy(record)) servers.set(served, [...(servers.get(served) ?? []), `${record.namespace}/${record.service}`]);
  }
  const records = new Map<string, RoutingRecord>();
  const excluded: ExcludedRoute[] = [];
  for (const [key, record] of [...projection.records].sort(([a], [b]) => compareText(a, b))) {
    const self = `${record.namespace}/${record.service}`;
    const clash = servedBy(record).find((served) => servers.get(served)!.length > 1);
    if (clash) {
      excluded.push({ namespace: record.namespace, service: record.service, reason: `${clash} is also served by ${servers.get(clash)!.filter((s) => s !== self).join(", ")}` });
      continue;
    }
    records.set(key, record);
  }
  return { projection: { records, seq: projection.seq }, excluded };
}

/**
 * The whole Caddy configuration for a routing projection. Pure, and always whole: the gateway
 * POSTs it to `/load`. Only ready, committed backends are upstreams; a route whose backends are
 * all gone answers 503; a host no route knows answers 404. Longer path prefixes match first.
 *
 * HTTP serves every route, and answers pending ACME challenges before anything else. HTTPS (when
 * `listen.https` is given) serves the `tls: acme` routes whose hostname has a certificate, with
 * the certificates given inline; a hostname without one fails the TLS handshake there.
 */
export function renderCaddyConfig(projection: RoutingProjection, listen: GatewayListen, tls: GatewayTls = NO_TLS): Record<string, unknown> {
  const certified = new Set(tls.certificates.map((c) => c.hostname));
  const servers: Record<string, unknown> = {
    gateway: {
      listen: [listen.http],
      automatic_https: { disable: true },
      routes: [...challengeRoutes(tls.challenges), ...renderRoutes(projection, () => true, listen.dns)],
    },
  };
  if (listen.https) {
    servers.gateway_tls = {
      listen: [listen.https],
      // Certificates come from Ployz (KV `secrets`), never from Caddy's own automation.
      automatic_https: { disable: true },
      tls_connection_policies: [{}],
      routes: renderRoutes(projection, (tlsMode, hostname) => tlsMode === "acme" && certified.has(hostname), listen.dns),
    };
  }
  const certificates = [...tls.certificates].sort((a, b) => compareText(a.hostname, b.hostname));
  return {
    // No autosave: the config holds certificate keys, and the gateway reloads it from the store anyway.
    // On a unix socket Caddy accepts only the Host names it is told (an empty Host is hard to send).
    admin: { listen: listen.admin, config: { persist: false }, ...(listen.admin.startsWith("unix/") ? { origins: [CADDY_ADMIN_HOST] } : {}) },
    apps: {
      http: { servers },
      ...(certificates.length ? { tls: { certificates: { load_pem: certificates.map((c) => ({ certificate: c.certPem, key: c.keyPem })) } } } : {}),
    },
  };
}

function challengeRoutes(challenges: GatewayTls["challenges"]): unknown[] {
  return [...challenges]
    .sort((a, b) => compareText(a.token, b.token))
    .map((c) => ({
      match: [{ path: [acmeChallengePath(c.token)] }],
      handle: [{ handler: "static_response", status_code: 200, headers: { "Content-Type": ["text/plain"] }, body: c.keyAuthorization }],
      terminal: true,
    }));
}

/** The routes of one server, for the route hostnames `serves` accepts, ending with the 404 catch-all. */
function renderRoutes(projection: RoutingProjection, serves: (tls: "none" | "acme", hostname: string) => boolean, dns: string | undefined): unknown[] {
  const flat: FlatRoute[] = [];
  for (const record of [...projection.records.values()].sort((a, b) => compareText(`${a.namespace}/${a.service}`, `${b.namespace}/${b.service}`))) {
    for (const route of record.routes) {
      const hostnames = route.hostnames.filter((h) => serves(route.tls, h));
      // Exact hostnames and wildcards become separate routes, so an exact name can win.
      const exact = hostnames.filter((h) => !h.startsWith("*."));
      const wildcard = hostnames.filter((h) => h.startsWith("*."));
      for (const hostnames of [exact, wildcard]) {
        if (hostnames.length) flat.push({ hostnames, pathPrefix: normalizePrefix(route.pathPrefix), port: route.port, record });
      }
    }
  }
  // Caddy takes the first match: exact hostnames before wildcards (a wildcard never takes an exact
  // hostname's traffic, whatever its prefix), then longer path prefixes first.
  const isWildcard = (r: FlatRoute) => (r.hostnames[0]!.startsWith("*.") ? 1 : 0);
  flat.sort((a, b) => isWildcard(a) - isWildcard(b) || b.pathPrefix.length - a.pathPrefix.length);
  const routes = flat.map((r) => ({
    match: [{ host: r.hostnames, ...(r.pathPrefix === "/" ? {} : { path: [r.pathPrefix, `${r.pathPrefix}/*`] }) }],
    handle:
      r.record.backends.length === 0
        ? [
            {
              handler: "static_response",
              status_code: 503,
              headers: { "Content-Type": ["text/plain"], "X-Ployz-Service": [`${r.record.namespace}/${r.record.service}`] },
              body: `no ready backend for ${r.record.namespace}/${r.record.service}\n`,
            },
          ]
        : [
            {
              handler: "reverse_proxy",
              ...(dns
                ? {
                    dynamic_upstreams: {
                      source: "a",
                      name: `${r.record.service}.${r.record.namespace}.${CLUSTER_ZONE}`,
                      port: String(r.port),
                      refresh: "50ms",
                      resolver: { addresses: [`udp/${dns}`] },
                    },
                  }
                : { upstreams: r.record.backends.map((b) => ({ dial: `${b.address}:${r.port}` })) }),
              // A backend that just went away is retried on another for a moment, not failed.
              // Not round_robin: the cluster DNS rotates its answers on every query, and a rotating
              // list read round-robin can skip a backend for good (seen in the lab: a gateway never
              // sent anything to its own machine's instance). least_conn breaks ties at random.
              load_balancing: { selection_policy: { policy: "least_conn" }, try_duration: "2s", try_interval: "50ms" },
              headers: { response: { set: { "X-Ployz-Service": [`${r.record.namespace}/${r.record.service}`] } } },
            },
          ],
    terminal: true,
  }));
  routes.push({
    handle: [{ handler: "static_response", status_code: 404, headers: { "Content-Type": ["text/plain"] }, body: "no route for this host\n" }],
  } as never);
  return routes;
}
