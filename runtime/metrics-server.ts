import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { errorText, PortInUseError } from "../model/errors.ts";
import type { Logger } from "./logger.ts";

/** Where the metrics listener listens and what it serves. */
export interface MetricsServerOptions {
  /** Loopback (or, on a real machine, the overlay address): never every interface. */
  host: string;
  port: number;
  registry: Registry;
  /** Caddy's own metrics (the gateway's requests), served beside ours at `/metrics/caddy`. */
  caddyMetrics: () => Promise<string>;
  log: Logger;
}

export interface MetricsServer {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

/**
 * The metrics listener: `GET /metrics` is this node's metrics, `GET /metrics/caddy` the
 * gateway's (Caddy's admin API is a unix socket nobody else reads, so it is passed through here).
 * Two documents, not one: both export process metrics, and one exposition must not name a
 * metric twice.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const send = (body: Promise<string>, contentType: string, what: string) =>
      body.then(
        (text) => res.writeHead(200, { "Content-Type": contentType }).end(req.method === "HEAD" ? undefined : text),
        (error: unknown) => {
          options.log.warn({ err: error, path }, `could not collect ${what}`);
          res.writeHead(503, { "Content-Type": "text/plain" }).end(`could not collect ${what}: ${errorText(error)}\n`);
        },
      );
    if (path === "/metrics") void send(options.registry.metrics(), options.registry.contentType, "ployzd's metrics");
    else if (path === "/metrics/caddy") void send(options.caddyMetrics(), "text/plain; version=0.0.4; charset=utf-8", "Caddy's metrics");
    else res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: try /metrics or /metrics/caddy\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new PortInUseError(`the metrics port ${options.host}:${options.port} is in use`, { hint: "choose another with --metrics-port (0 turns metrics off)", cause: error }) : error),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
