import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderCaddyConfig, servableProjection, type GatewayListen } from "../../model/caddy-config.ts";
import { emptyProjection, routingKey, type RoutingProjection, type RoutingRecord } from "../../model/routing.ts";
import { aBackend, aProjection, aRoute, aRoutingRecord } from "../fixtures/routing.ts";

const listen: GatewayListen = { admin: "127.0.0.1:2019", http: "127.0.0.1:8080" };

interface CaddyRoute {
  match?: { host: string[]; path?: string[] }[];
  handle: Record<string, unknown>[];
  terminal?: boolean;
}
interface CaddyConfig {
  admin: { listen: string; config: { persist: boolean } };
  apps: { http: { servers: { gateway: { listen: string[]; automatic_https: { disable: boolean }; routes: CaddyRoute[] } } } };
}

const gatewayOf = (projection: RoutingProjection) => (renderCaddyConfig(projection, listen) as unknown as CaddyConfig).apps.http.servers.gateway;
const routesOf = (projection: RoutingProjection) => gatewayOf(projection).routes;

/** Each Caddy route as one line: `host path,path → proxy a:p b:p`, `→ 503`, `anything else → 404`. */
function briefly(projection: RoutingProjection): string[] {
  return routesOf(projection).map((route) => {
    const match = route.match?.[0];
    const where = match ? [match.host.join(","), ...(match.path ? [match.path.join(",")] : [])].join(" ") : "anything else";
    const handler = route.handle[0] as { handler: string; status_code?: number; upstreams?: { dial: string }[] };
    return `${where} → ${handler.handler === "reverse_proxy" ? `proxy ${handler.upstreams!.map((u) => u.dial).join(" ")}` : handler.status_code}`;
  });
}

const web = aRoutingRecord({
  service: "web",
  commitSeq: 3,
  routes: [aRoute(["shop.example.com", "www.shop.example.com"], { port: 8080 })],
  ports: [{ container: 80, protocol: "tcp" }],
  backends: [aBackend(0), aBackend(2)],
});

describe("renderCaddyConfig: the server", () => {
  it("listens where it is told, with automatic HTTPS off", () => {
    const config = renderCaddyConfig(emptyProjection(), listen) as unknown as CaddyConfig;

    expect(config.admin).toEqual({ listen: "127.0.0.1:2019", config: { persist: false } });
    expect(config.apps.http.servers.gateway.listen).toEqual(["127.0.0.1:8080"]);
    expect(config.apps.http.servers.gateway.automatic_https).toEqual({ disable: true });
  });

  it("answers 404 to everything when nothing is routed", () => {
    expect(routesOf(emptyProjection())).toEqual([
      { handle: [{ handler: "static_response", status_code: 404, headers: { "Content-Type": ["text/plain"] }, body: "no route for this host\n" }] },
    ]);
  });
});

describe("renderCaddyConfig: routes", () => {
  it("proxies a route to one upstream per backend, at the backend's address and the route's port", () => {
    const [route] = routesOf(aProjection(web));

    expect(route).toEqual({
      match: [{ host: ["shop.example.com", "www.shop.example.com"] }],
      handle: [
        {
          handler: "reverse_proxy",
          upstreams: [{ dial: "10.0.0.10:8080" }, { dial: "10.0.0.12:8080" }],
          load_balancing: { selection_policy: { policy: "least_conn" }, try_duration: "2s", try_interval: "50ms" },
          headers: { response: { set: { "X-Ployz-Service": ["shop/web"] } } },
        },
      ],
      terminal: true,
    });
  });

  it("answers 503 naming the service when its record has no backends", () => {
    const [route] = routesOf(aProjection({ ...web, backends: [] }));

    expect(route!.match).toEqual([{ host: ["shop.example.com", "www.shop.example.com"] }]);
    expect(route!.handle).toEqual([
      {
        handler: "static_response",
        status_code: 503,
        headers: { "Content-Type": ["text/plain"], "X-Ployz-Service": ["shop/web"] },
        body: "no ready backend for shop/web\n",
      },
    ]);
    expect(route!.terminal).toBe(true);
  });

  it("makes one Caddy route per route of a service, and ends with the 404 catch-all", () => {
    const two = aRoutingRecord({ service: "web", routes: [aRoute("shop.example.com"), aRoute("api.shop.example.com", { port: 9000 })], backends: [aBackend(1)] });

    expect(briefly(aProjection(two))).toEqual(["shop.example.com → proxy 10.0.0.11:80", "api.shop.example.com → proxy 10.0.0.11:9000", "anything else → 404"]);
  });

  it("matches a / prefix on the host alone, and any other prefix (trailing slash or not) on itself and everything under it", () => {
    const prefixes = aRoutingRecord({
      service: "web",
      routes: [aRoute("a.example.com"), aRoute("b.example.com", { pathPrefix: "/api" }), aRoute("c.example.com", { pathPrefix: "/docs/" })],
      backends: [aBackend(0)],
    });

    expect(routesOf(aProjection(prefixes)).map((r) => r.match)).toEqual([
      [{ host: ["c.example.com"], path: ["/docs", "/docs/*"] }],
      [{ host: ["b.example.com"], path: ["/api", "/api/*"] }],
      [{ host: ["a.example.com"] }],
      undefined,
    ]);
  });

  it("puts longer path prefixes before shorter ones, whichever service or namespace owns them", () => {
    const site = aRoutingRecord({ namespace: "blog", service: "site", routes: [aRoute("example.com")], backends: [aBackend(0, { address: "10.0.1.1" })] });
    const api = aRoutingRecord({ namespace: "zeta", service: "api", routes: [aRoute("example.com", { pathPrefix: "/api" })], backends: [aBackend(0, { address: "10.0.2.1" })] });
    const v2 = aRoutingRecord({ namespace: "alpha", service: "v2", routes: [aRoute("example.com", { pathPrefix: "/api/v2" })] });

    expect(briefly(aProjection(site, api, v2))).toEqual([
      "example.com /api/v2,/api/v2/* → 503",
      "example.com /api,/api/* → proxy 10.0.2.1:80",
      "example.com → proxy 10.0.1.1:80",
      "anything else → 404",
    ]);
  });

  it("never routes to a deleted service: it has left the projection", () => {
    const api = aRoutingRecord({ service: "api", routes: [aRoute("api.shop.example.com")], backends: [aBackend(0)] });
    const projection = aProjection(web, api, { ...web, commitSeq: 4, deleted: true, routes: [], backends: [] });

    expect(briefly(projection)).toEqual(["api.shop.example.com → proxy 10.0.0.10:80", "anything else → 404"]);
    expect(JSON.stringify(renderCaddyConfig(projection, listen))).not.toContain("shop/web");
  });

  it("renders the same config for the same records, whatever order the projection learned them in", () => {
    const records: RoutingRecord[] = [
      web,
      aRoutingRecord({ service: "api", routes: [aRoute("shop.example.com", { pathPrefix: "/api" })], backends: [aBackend(1)] }),
      aRoutingRecord({ service: "admin", routes: [aRoute("shop.example.com", { pathPrefix: "/adm" })] }),
      aRoutingRecord({ namespace: "blog", service: "site", routes: [aRoute("blog.example.com"), aRoute("blog.example.com", { pathPrefix: "/rss" })], backends: [aBackend(0)] }),
      aRoutingRecord({ namespace: "blog", service: "feed", routes: [aRoute("feed.example.com", { pathPrefix: "/rss" })], backends: [aBackend(3)] }),
    ];
    const projectionOf = (ordered: RoutingRecord[]): RoutingProjection => ({ records: new Map(ordered.map((r) => [routingKey(r.namespace, r.service), r])), seq: 5 });
    const expected = JSON.stringify(renderCaddyConfig(projectionOf(records), listen));

    fc.assert(
      fc.property(fc.shuffledSubarray(records, { minLength: records.length }), (shuffled) => {
        expect(JSON.stringify(renderCaddyConfig(projectionOf(shuffled), listen))).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });

  // Caddy takes the first match: an exact hostname must be tried before any wildcard that covers it.
  it("tries an exact hostname before a wildcard that covers it", () => {
    const wildcard = aRoutingRecord({ namespace: "blog", service: "site", routes: [aRoute("*.example.com")], backends: [aBackend(0, { address: "10.0.1.1" })] });
    const exact = aRoutingRecord({ namespace: "shop", service: "web", routes: [aRoute("shop.example.com")], backends: [aBackend(0, { address: "10.0.2.1" })] });

    expect(briefly(aProjection(wildcard, exact))).toEqual(["shop.example.com → proxy 10.0.2.1:80", "*.example.com → proxy 10.0.1.1:80", "anything else → 404"]);
  });

  it("a wildcard with a longer path prefix still comes after every exact hostname (it cannot take shop.example.com/api)", () => {
    const wildcard = aRoutingRecord({ namespace: "evil", service: "x", routes: [aRoute("*.example.com", { pathPrefix: "/api" })], backends: [aBackend(0, { address: "10.0.1.1" })] });
    const exact = aRoutingRecord({ namespace: "shop", service: "web", routes: [aRoute("shop.example.com")], backends: [aBackend(0, { address: "10.0.2.1" })] });

    expect(briefly(aProjection(wildcard, exact))).toEqual(["shop.example.com → proxy 10.0.2.1:80", "*.example.com /api,/api/* → proxy 10.0.1.1:80", "anything else → 404"]);
  });
});

describe("servableProjection", () => {
  it("serves every record that stands on its own, and leaves out both records that serve one hostname + prefix, each naming the other", () => {
    const shop = aRoutingRecord({ namespace: "shop", service: "web", routes: [aRoute("shop.example.com")], backends: [aBackend(0)] });
    const forged = aRoutingRecord({ namespace: "evil", service: "x", routes: [aRoute(["evil.example.com", "shop.example.com"], { pathPrefix: "/" })], backends: [aBackend(1)] });
    const blog = aRoutingRecord({ namespace: "blog", service: "site", routes: [aRoute("blog.example.com")], backends: [aBackend(2)] });
    const { projection, excluded } = servableProjection(aProjection(shop, forged, blog));
    expect([...projection.records.keys()]).toEqual(["blog/site"]);
    expect(excluded).toEqual([
      { namespace: "evil", service: "x", reason: "shop.example.com/ is also served by shop/web" },
      { namespace: "shop", service: "web", reason: "shop.example.com/ is also served by evil/x" },
    ]);
  });
});
