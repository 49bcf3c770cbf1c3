import { describe, expect, it } from "vitest";
import { renderCaddyConfig, type GatewayListen } from "../../model/caddy-config.ts";
import type { RoutingProjection } from "../../model/routing.ts";
import { aBackend, aProjection, aRoute, aRoutingRecord } from "../fixtures/routing.ts";

const listen: GatewayListen = { admin: "127.0.0.1:2019", http: "127.0.0.1:8080", dns: "172.17.0.1:53" };
type Route = { handle: Array<Record<string, unknown>> };
const routesOf = (projection: RoutingProjection) =>
  (renderCaddyConfig(projection, listen) as unknown as { apps: { http: { servers: { gateway: { routes: Route[] } } } } }).apps.http.servers.gateway.routes;

describe("renderCaddyConfig with the cluster DNS", () => {
  it("resolves a route's backends from the DNS name of its service instead of listing them", () => {
    const web = aRoutingRecord({ namespace: "shop", service: "web", routes: [aRoute("shop.example.com", { port: 8080 })], backends: [aBackend(0), aBackend(1)] });
    const [route] = routesOf(aProjection(web));
    expect(route!.handle[0]).toMatchObject({
      handler: "reverse_proxy",
      dynamic_upstreams: { source: "a", name: "web.shop.ployz.internal", port: "8080", refresh: "50ms", resolver: { addresses: ["udp/172.17.0.1:53"] } },
    });
    expect(route!.handle[0]).not.toHaveProperty("upstreams");
  });

  it("renders the same config when only the instances change, so a replacing deploy does not reload Caddy", () => {
    const before = aRoutingRecord({ service: "web", routes: [aRoute("shop.example.com")], backends: [aBackend(0)], commitSeq: 3, revision: "aaa" });
    const after = { ...before, backends: [aBackend(1), aBackend(2)], commitSeq: 4, revision: "bbb" };
    expect(JSON.stringify(renderCaddyConfig(aProjection(after), listen))).toBe(JSON.stringify(renderCaddyConfig(aProjection(before), listen)));
  });

  it("still answers 503 when the service has no ready backend", () => {
    const none = aRoutingRecord({ service: "web", routes: [aRoute("shop.example.com")], backends: [] });
    expect(routesOf(aProjection(none))[0]!.handle[0]).toMatchObject({ handler: "static_response", status_code: 503 });
  });
});
