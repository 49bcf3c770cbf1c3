import { createSocket } from "node:dgram";
import { connect } from "node:net";
import type { Logger } from "pino";
import { DnsUpstreamError } from "../../model/dns-errors.ts";

export interface Upstream {
  host: string;
  port: number;
}

/** How long the upstream has to answer a forwarded query. */
export const FORWARD_TIMEOUT_MS = 2_000;

/**
 * Passes a query, byte for byte, to the host's resolver over the transport it came on (a UDP
 * reply with TC makes the client retry over TCP, which is then forwarded over TCP) and returns
 * the reply as it came. Each query gets its own socket, so its source port is random. Rejects
 * with `DnsUpstreamError` on a timeout or a network error.
 */
export async function forwardQuery(query: Uint8Array, upstream: Upstream, transport: "udp" | "tcp", timeoutMs = FORWARD_TIMEOUT_MS): Promise<Uint8Array> {
  return transport === "udp" ? await forwardUdp(query, upstream, timeoutMs) : await forwardTcp(query, upstream, timeoutMs);
}

function forwardUdp(query: Uint8Array, upstream: Upstream, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(upstream.host.includes(":") ? "udp6" : "udp4");
    let done = false;
    const finish = (error: Error | undefined, reply?: Uint8Array) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new DnsUpstreamError(`the resolver ${where(upstream)} did not answer over UDP within ${timeoutMs} ms`)), timeoutMs);
    socket.on("error", (error) => finish(new DnsUpstreamError(`forwarding to ${where(upstream)} over UDP failed: ${error.message}`, { cause: error })));
    // Only the reply to this query: same id (the connected socket takes datagrams from the upstream only).
    socket.on("message", (reply) => {
      if (reply.length >= 2 && reply[0] === query[0] && reply[1] === query[1]) finish(undefined, reply);
    });
    socket.connect(upstream.port, upstream.host, () => socket.send(query));
  });
}

function forwardTcp(query: Uint8Array, upstream: Upstream, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: upstream.host, port: upstream.port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (error: Error | undefined, reply?: Uint8Array) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new DnsUpstreamError(`the resolver ${where(upstream)} did not answer over TCP within ${timeoutMs} ms`)), timeoutMs);
    socket.on("error", (error) => finish(new DnsUpstreamError(`forwarding to ${where(upstream)} over TCP failed: ${error.message}`, { cause: error })));
    socket.on("connect", () => {
      const frame = Buffer.allocUnsafe(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      frame.set(query, 2);
      socket.write(frame);
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.on("end", () => finish(new DnsUpstreamError(`the resolver ${where(upstream)} closed the TCP connection before it answered`)));
  });
}

function where(upstream: Upstream): string {
  return upstream.host.includes(":") ? `[${upstream.host}]:${upstream.port}` : `${upstream.host}:${upstream.port}`;
}

/**
 * Logs the upstream's failures once, not per query: the first failure as a warning, then nothing
 * until it answers again, which is logged with how many queries failed meanwhile.
 */
export class UpstreamHealth {
  private failures = 0;

  constructor(private readonly log: Logger) {}

  failed(error: unknown): void {
    if (this.failures++ === 0) this.log.warn({ err: error }, "the host's resolver fails; forwarded queries get SERVFAIL until it answers again");
  }

  answered(): void {
    if (this.failures === 0) return;
    this.log.info({ failed: this.failures }, "the host's resolver answers again");
    this.failures = 0;
  }
}
