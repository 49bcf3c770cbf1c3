import { normalizePrefix, type RoutingProjection, type RoutingRecord } from "./routing.ts";

export interface GatewayListen {
  /** Caddy's admin API: loopback only. */
  admin: string;
  /** The plain-HTTP listener, e.g. `127.0.0.1:8080` (loopback or overlay, never every interface). */
  http: string;
}

interface FlatRoute {
  hostnames: string[];
  pathPrefix: string;
  port: number;
  record: RoutingRecord;
}

/**
 * The whole Caddy configuration for a routing projection. Pure, and always whole: the gateway
 * POSTs it to `/load`. Only ready, committed backends are upstreams; a route whose backends are
 * all gone answers 503; a host no route knows answers 404. Longer path prefixes match first.
 */
export function renderCaddyConfig(projection: RoutingProjection, listen: GatewayListen): Record<string, unknown> {
  const flat: FlatRoute[] = [];
  for (const record of [...projection.records.values()].sort((a, b) => `${a.namespace}/${a.service}`.localeCompare(`${b.namespace}/${b.service}`))) {
    for (const route of record.routes) {
      // Exact hostnames and wildcards become separate routes, so an exact name can win.
      const exact = route.hostnames.filter((h) => !h.startsWith("*."));
      const wildcard = route.hostnames.filter((h) => h.startsWith("*."));
      for (const hostnames of [exact, wildcard]) {
        if (hostnames.length) flat.push({ hostnames, pathPrefix: normalizePrefix(route.pathPrefix), port: route.port, record });
      }
    }
  }
  // Caddy takes the first match: longer path prefixes first, then exact hostnames before wildcards.
  const isWildcard = (r: FlatRoute) => (r.hostnames[0]!.startsWith("*.") ? 1 : 0);
  flat.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length || isWildcard(a) - isWildcard(b));
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
              upstreams: r.record.backends.map((b) => ({ dial: `${b.address}:${r.port}` })),
              // A backend that just went away is retried on another for a moment, not failed.
              load_balancing: { selection_policy: { policy: "round_robin" }, try_duration: "2s", try_interval: "50ms" },
              headers: { response: { set: { "X-Ployz-Service": [`${r.record.namespace}/${r.record.service}`], "X-Ployz-Commit": [String(r.record.commitSeq)] } } },
            },
          ],
    terminal: true,
  }));
  routes.push({
    handle: [{ handler: "static_response", status_code: 404, headers: { "Content-Type": ["text/plain"] }, body: "no route for this host\n" }],
  } as never);
  return {
    admin: { listen: listen.admin },
    apps: {
      http: {
        servers: {
          gateway: {
            listen: [listen.http],
            automatic_https: { disable: true },
            routes,
          },
        },
      },
    },
  };
}
