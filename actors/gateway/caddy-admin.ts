import { request } from "node:http";
import { CADDY_ADMIN_HOST } from "../../model/caddy-config.ts";

/**
 * Caddy's admin API over its unix socket (a 0700 directory under the data directory: no other
 * local user can read the config, which holds certificate keys, or load one).
 */
export interface CaddyAdmin {
  /** The socket, as Caddy's config names it: `unix//<path>`. */
  listen: string;
  /** Loads a whole config; rejects with Caddy's answer (PEM removed) when it refuses it. */
  load(config: Record<string, unknown>): Promise<void>;
  /** True when Caddy answers on the socket. */
  ping(): Promise<boolean>;
  /** Caddy's own Prometheus metrics (its admin API's `/metrics`), as text. */
  metrics(): Promise<string>;
}

export function caddyAdmin(socketPath: string): CaddyAdmin {
  const call = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { socketPath, method, path, headers: { ...(body ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } : {}), Host: CADDY_ADMIN_HOST }, timeout: 10_000 },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`caddy's admin API did not answer ${method} ${path} within 10 s`)));
      req.on("error", reject);
      req.end(body);
    });
  return {
    listen: `unix/${socketPath}`,
    async load(config) {
      const { status, text } = await call("POST", "/load", JSON.stringify(config));
      if (status < 200 || status >= 300) throw new Error(`caddy refused the config: HTTP ${status} ${withoutPem(text).slice(0, 300)}`);
    },
    async metrics() {
      const { status, text } = await call("GET", "/metrics");
      if (status !== 200) throw new Error(`caddy's admin API answered /metrics with HTTP ${status}: ${withoutPem(text).slice(0, 300)}`);
      return text;
    },
    async ping() {
      try {
        return (await call("GET", "/config/")).status === 200;
      } catch {
        return false; // not listening (yet): the caller waits or reports
      }
    },
  };
}

/** Caddy's errors quote what they refused: never let a key through to a log or a status. */
export const withoutPem = (text: string) => text.replace(/-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g, "[PEM removed]");
