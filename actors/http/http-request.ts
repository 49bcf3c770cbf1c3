import { request } from "node:http";

/** A response read whole. */
export interface HttpResponse {
  status: number;
  ok: boolean;
  text: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, connect to last byte. */
  timeoutMs: number;
}

/**
 * One plain-HTTP request with node:http, for loopback APIs such as Caddy's admin endpoint on the
 * start path. Not `fetch`: Node loads undici on the first fetch, about 17 ms that ployzd's start
 * would pay for two tiny requests. Rejects on a connection error or the timeout; any status resolves.
 */
export function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, timeout: options.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(deadline);
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", fail);
    });
    const deadline = setTimeout(() => req.destroy(new Error(`${options.method ?? "GET"} ${url}: no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    function fail(error: Error) {
      clearTimeout(deadline);
      reject(error);
    }
    req.on("error", fail);
    req.end(options.body);
  });
}
