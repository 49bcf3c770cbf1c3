import { errorText } from "../../model/errors.ts";
import { chmodSync, rmSync } from "node:fs";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { dnsAppliedSchema, dnsProcessStatusSchema, fromWire, toWire, wireProjectionSchema, type DnsProcessStatus } from "../../model/dns-process.ts";
import type { RoutingProjection } from "../../model/routing.ts";

/** A projection of 1000 instances is well under 1 MiB; anything far larger is not ployzd's. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const CALL_TIMEOUT_MS = 10_000;

/**
 * The control socket of the DNS process: HTTP over a unix socket in a 0700 directory (only this
 * user can reach it). `GET /status`, `PUT /projection` (a whole projection; answers once it is
 * what the DNS answers from).
 */
export interface DnsControlHandlers {
  status(): DnsProcessStatus;
  apply(projection: RoutingProjection): Promise<void>;
}

export async function serveDnsControl(socketPath: string, handlers: DnsControlHandlers): Promise<{ close(): Promise<void> }> {
  rmSync(socketPath, { force: true }); // a socket left by a killed process: nothing listens on it
  const server = createServer((req, res) => {
    handle(req, res, handlers).catch((error: unknown) => reply(res, 500, { error: errorText(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, handlers: DnsControlHandlers): Promise<void> {
  if (req.method === "GET" && req.url === "/status") return reply(res, 200, handlers.status());
  if (req.method === "PUT" && req.url === "/projection") {
    const body = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      return reply(res, 400, { error: `not JSON: ${errorText(error)}` });
    }
    const parsed = wireProjectionSchema.safeParse(json);
    if (!parsed.success) return reply(res, 400, { error: `not a projection: ${parsed.error.issues[0]!.path.join(".")}: ${parsed.error.issues[0]!.message}` });
    await handlers.apply(fromWire(parsed.data));
    return reply(res, 200, { seq: parsed.data.seq });
  }
  reply(res, 404, { error: `no ${req.method} ${req.url}` });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error(`a projection over ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** ployzd's side of the control socket. */
export interface DnsControl {
  socketPath: string;
  status(): Promise<DnsProcessStatus>;
  /** Resolves once the DNS answers from `projection`. */
  apply(projection: RoutingProjection): Promise<void>;
}

export function dnsControl(socketPath: string): DnsControl {
  const call = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const req = request(
        { socketPath, method, path, headers: body ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } : {}, timeout: CALL_TIMEOUT_MS },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => {
            try {
              resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
            } catch {
              reject(new Error(`the DNS process answered ${method} ${path} with HTTP ${res.statusCode} and no JSON: ${text.slice(0, 200)}`));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`the DNS process did not answer ${method} ${path} on ${socketPath} within ${CALL_TIMEOUT_MS / 1000} s`)));
      req.on("error", (error) => reject(new Error(`the DNS process's control socket ${socketPath}: ${error.message}`)));
      req.end(body);
    });
  const refused = (what: string, status: number, json: unknown) => new Error(`the DNS process refused ${what}: HTTP ${status} ${JSON.stringify(json).slice(0, 300)}`);
  return {
    socketPath,
    async status() {
      const { status, json } = await call("GET", "/status");
      if (status !== 200) throw refused("status", status, json);
      return dnsProcessStatusSchema.parse(json);
    },
    async apply(projection) {
      const { status, json } = await call("PUT", "/projection", JSON.stringify(toWire(projection)));
      if (status !== 200) throw refused(`projection #${projection.seq}`, status, json);
      const applied = dnsAppliedSchema.parse(json);
      if (applied.seq !== projection.seq) throw new Error(`the DNS process applied #${applied.seq}, not #${projection.seq}`);
    },
  };
}
