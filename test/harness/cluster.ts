import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { connectClient, type PloyzClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { createDocker } from "../../runtime/docker.ts";
import { namespaceSpecSchema, type NamespaceSpecInput, type ServiceInput } from "../../model/manifest.ts";
import { LABELS } from "../../model/instance.ts";
import { createTestHome, startDevDaemon, type TestHome } from "./daemon.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./docker.ts";

/** A one-machine dev cluster for a test file: daemon, client, dockerd, and clean-up of its namespaces. */
export interface TestCluster {
  home: TestHome;
  client: PloyzClient;
  docker: Docker;
  machineId: string;
  /** The gateway's base URL (`http://127.0.0.1:port`) and the DNS server (`host:port`). */
  gateway: string;
  /** The gateway's HTTPS base URL (`https://127.0.0.1:port`). */
  gatewayHttps: string;
  dns: string;
  /** The metrics listener (`http://127.0.0.1:port`: `/metrics`, `/metrics/caddy`). */
  metrics: string;
  /** A namespace name unique to this run; every container of it is removed at the end. */
  namespace(prefix: string): string;
  containersOf(namespace: string): Promise<Docker.ContainerInfo[]>;
  dispose(): Promise<void>;
}

export async function startTestCluster(options: { faultInjection?: boolean; extraArgs?: string[] } = {}): Promise<TestCluster> {
  ensureBusyboxImage();
  const home = createTestHome();
  const up = await startDevDaemon(home, options);
  const client = await connectClient(readContext(home.env, "dev"));
  const docker = createDocker();
  const namespaces: string[] = [];
  const run = randomBytes(3).toString("hex");
  const containersOf = (namespace: string) => docker.listContainers({ all: true, filters: { label: [`${LABELS.namespace}=${namespace}`] } });
  return {
    home,
    client,
    docker,
    machineId: up.info.machineId,
    gateway: up.info.gateway!,
    gatewayHttps: up.info.gatewayHttps!,
    dns: up.info.dns!,
    metrics: up.info.metrics!,
    namespace(prefix) {
      const name = `${prefix}-${run}`;
      namespaces.push(name);
      return name;
    },
    containersOf,
    async dispose() {
      await client.close().catch(() => undefined);
      await home.dispose();
      for (const namespace of namespaces) {
        for (const c of await containersOf(namespace)) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      }
    },
  };
}

/** The busybox HTTP service the tests deploy: `httpd` answering `body` on 8080, ready by HTTP. */
export function httpService(body: string, overrides: Partial<ServiceInput> = {}): ServiceInput {
  return {
    image: BUSYBOX_IMAGE,
    command: ["/bin/sh", "-c", `mkdir -p /www && echo '${body}' > /www/index.html && exec httpd -f -p 8080 -h /www`],
    ports: [{ container: 8080 }],
    readiness: { type: "http", port: 8080, path: "/", interval: "100ms", timeout: "1s", retries: 30 },
    ...overrides,
  };
}

export function aNamespaceSpec(namespace: string, services: Record<string, ServiceInput>, extra: Partial<NamespaceSpecInput> = {}) {
  return namespaceSpecSchema.parse({ namespace, services, ...extra });
}

/** GET http://address:8080/ from the host (container bridge addresses are reachable here). */
export async function httpGet(address: string, port = 8080): Promise<string> {
  const response = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(3_000) });
  return (await response.text()).trim();
}

/**
 * GET through the gateway with a Host header, on a new connection each time (as `curl` in a
 * loop would: Caddy closes idle keep-alive connections when it loads a new config, and Node's
 * client does not retry a request on a reused socket that was closed under it).
 */
export async function viaGateway(gateway: string, host: string, path = "/"): Promise<{ status: number; body: string }> {
  const { request } = await import("node:http");
  const url = new URL(path, gateway);
  return await new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { Host: host }, timeout: 5_000, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Requests through the gateway in a loop (a new connection each) until stopped; every response is recorded. */
export function gatewayLoop(gateway: string, host: string) {
  const responses: Array<{ status: number; body: string; at: number } | { error: string; at: number }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      responses.push(
        await viaGateway(gateway, host).then(
          (r) => ({ ...r, at: Date.now() }),
          (e: Error) => ({ error: e.message, at: Date.now() }),
        ),
      );
    }
  })();
  return {
    responses,
    failed: () => responses.filter((r) => "error" in r || r.status !== 200),
    async stop() {
      running = false;
      await done;
    },
  };
}

/**
 * GET through the gateway's HTTPS listener as a browser would for `host`: SNI and Host are the
 * hostname, and the server's certificate must chain to `ca`. Also returns that certificate's issuer.
 */
export async function viaGatewayHttps(gatewayHttps: string, host: string, ca: string, path = "/"): Promise<{ status: number; body: string; issuer: string; validTo: string }> {
  const { request } = await import("node:https");
  const url = new URL(path, gatewayHttps);
  return await new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, servername: host, headers: { Host: host }, ca, timeout: 5_000, agent: false },
      (res) => {
        const certificate = (res.socket as import("node:tls").TLSSocket).getPeerCertificate();
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim(), issuer: [certificate.issuer?.CN ?? ""].flat().join(", "), validTo: certificate.valid_to }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}
