import { describe, expect, it } from "vitest";
import { renderCaddyConfig, type GatewayListen, type GatewayTls } from "../../model/caddy-config.ts";
import type { RoutingProjection } from "../../model/routing.ts";
import { aBackend, aProjection, aRoute, aRoutingRecord } from "../fixtures/routing.ts";

const listen: GatewayListen = { admin: "127.0.0.1:2019", http: "127.0.0.1:8080", https: "127.0.0.1:8443" };

interface CaddyRoute {
  match?: { host?: string[]; path?: string[] }[];
  handle: { handler: string; status_code?: number; body?: string; upstreams?: { dial: string }[] }[];
}
interface Server {
  listen: string[];
  automatic_https: { disable: boolean };
  tls_connection_policies?: unknown[];
  routes: CaddyRoute[];
}
interface CaddyConfig {
  apps: { http: { servers: Record<string, Server> }; tls?: { certificates: { load_pem: { certificate: string; key: string }[] } } };
}

const render = (projection: RoutingProjection, tls?: GatewayTls, at: GatewayListen = listen) => renderCaddyConfig(projection, at, tls) as unknown as CaddyConfig;

/** Each route as one line: `host path → proxy a:p`, `path → "body"`, `anything else → 404`. */
const briefly = (server: Server | undefined) =>
  server?.routes.map((route) => {
    const match = route.match?.[0];
    const where = match ? [match.host?.join(","), match.path?.join(",")].filter(Boolean).join(" ") : "anything else";
    const h = route.handle[0]!;
    const what = h.handler === "reverse_proxy" ? `proxy ${h.upstreams!.map((u) => u.dial).join(" ")}` : h.status_code === 200 ? JSON.stringify(h.body) : String(h.status_code);
    return `${where} → ${what}`;
  });

const acme = (hostnames: string | string[], overrides: { pathPrefix?: string; port?: number } = {}) => ({ ...aRoute(hostnames, overrides), tls: "acme" as const });
const certFor = (hostname: string) => ({ hostname, certPem: `CERT ${hostname}`, keyPem: `KEY ${hostname}` });

const shop = aRoutingRecord({
  service: "web",
  routes: [acme(["shop.example.com", "www.shop.example.com"], { port: 8080 }), aRoute("plain.example.com", { port: 8080 })],
  backends: [aBackend(0)],
});

describe("renderCaddyConfig with TLS", () => {
  it("without an HTTPS address renders no HTTPS server and no certificates, as before", () => {
    const config = render(aProjection(shop), { certificates: [certFor("shop.example.com")], challenges: [] }, { admin: listen.admin, http: listen.http });

    expect(Object.keys(config.apps.http.servers)).toEqual(["gateway"]);
  });

  it("serves `tls: acme` hostnames that have a certificate over HTTPS, with the certificates inline", () => {
    const config = render(aProjection(shop), { certificates: [certFor("www.shop.example.com"), certFor("shop.example.com")], challenges: [] });
    const https = config.apps.http.servers.gateway_tls!;

    expect(https.listen).toEqual(["127.0.0.1:8443"]);
    expect(https.automatic_https).toEqual({ disable: true });
    expect(https.tls_connection_policies).toEqual([{}]);
    expect(briefly(https)).toEqual(["shop.example.com,www.shop.example.com → proxy 10.0.0.10:8080", "anything else → 404"]);
    expect(config.apps.tls!.certificates.load_pem).toEqual([
      { certificate: "CERT shop.example.com", key: "KEY shop.example.com" },
      { certificate: "CERT www.shop.example.com", key: "KEY www.shop.example.com" },
    ]);
  });

  it("leaves a hostname without a certificate off HTTPS (its handshake fails), but serves it on HTTP", () => {
    const config = render(aProjection(shop), { certificates: [certFor("shop.example.com")], challenges: [] });

    expect(briefly(config.apps.http.servers.gateway_tls)).toEqual(["shop.example.com → proxy 10.0.0.10:8080", "anything else → 404"]);
    expect(briefly(config.apps.http.servers.gateway)).toEqual([
      "shop.example.com,www.shop.example.com → proxy 10.0.0.10:8080",
      "plain.example.com → proxy 10.0.0.10:8080",
      "anything else → 404",
    ]);
  });

  it("with no certificate at all has an HTTPS server that serves nothing, and no tls app", () => {
    const config = render(aProjection(shop));

    expect(briefly(config.apps.http.servers.gateway_tls)).toEqual(["anything else → 404"]);
    expect(config.apps.tls).toBeUndefined();
  });

  it("never serves a `tls: none` route over HTTPS, even when its hostname has a certificate", () => {
    const config = render(aProjection(shop), { certificates: [certFor("plain.example.com")], challenges: [] });

    expect(briefly(config.apps.http.servers.gateway_tls)).toEqual(["anything else → 404"]);
  });

  it("answers pending http-01 challenges on HTTP before any route, for any host", () => {
    const config = render(aProjection(shop), { certificates: [], challenges: [{ token: "tok-2", keyAuthorization: "tok-2.thumb" }, { token: "tok-1", keyAuthorization: "tok-1.thumb" }] });

    expect(briefly(config.apps.http.servers.gateway)!.slice(0, 3)).toEqual([
      '/.well-known/acme-challenge/tok-1 → "tok-1.thumb"',
      '/.well-known/acme-challenge/tok-2 → "tok-2.thumb"',
      "shop.example.com,www.shop.example.com → proxy 10.0.0.10:8080",
    ]);
    expect(briefly(config.apps.http.servers.gateway_tls)).toEqual(["anything else → 404"]);
  });

  it("renders the same config whatever order certificates and challenges come in", () => {
    const a: GatewayTls = { certificates: [certFor("shop.example.com"), certFor("www.shop.example.com")], challenges: [{ token: "x", keyAuthorization: "x.t" }, { token: "y", keyAuthorization: "y.t" }] };
    const b: GatewayTls = { certificates: [...a.certificates].reverse(), challenges: [...a.challenges].reverse() };

    expect(JSON.stringify(render(aProjection(shop), b))).toBe(JSON.stringify(render(aProjection(shop), a)));
  });
});
