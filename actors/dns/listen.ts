import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { DnsListenError } from "../../model/dns-errors.ts";
import { PortInUseError } from "../../model/errors.ts";

/** Where a message came from. */
export interface DnsPeer {
  address: string;
  port: number;
  transport: "udp" | "tcp";
}

/** Answers one message: the reply's bytes, or undefined to send nothing. */
export type DnsHandler = (message: Uint8Array, from: DnsPeer) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface DnsListenOptions {
  host: string;
  port: number;
  handle: DnsHandler;
  /** A message whose handling failed, or a reply that could not be sent. */
  onError: (error: unknown, from: DnsPeer) => void;
}

/** One address the DNS serves on: UDP and TCP on the same port. */
export interface DnsListener {
  host: string;
  port: number;
  /** Rejects if a socket fails after it was bound (never resolves otherwise). */
  failed: Promise<never>;
  close(): Promise<void>;
}

/** An idle TCP connection is closed after this long (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/** More concurrent TCP connections than this are refused by the kernel's accept. */
const TCP_MAX_CONNECTIONS = 256;
/** Bytes a TCP client may send ahead of our replies (two whole messages). */
const TCP_MAX_PENDING = 2 * (2 + 65_535);

/**
 * Listens for DNS on `host:port` over UDP and over TCP (RFC 7766: 2-byte length prefix, several
 * queries per connection, answered in order). Binds the exact address, never the wildcard.
 */
export async function listenDns(options: DnsListenOptions): Promise<DnsListener> {
  const udp = await bindUdp(options);
  let tcp: { server: Server; connections: Set<Socket> };
  try {
    tcp = await listenTcp(options);
  } catch (error) {
    udp.close();
    throw error;
  }
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined); // observed by whoever races it; never an unhandled rejection
  udp.on("error", (error) => fail(new DnsListenError(`the cluster DNS's UDP socket on ${options.host}:${options.port} failed: ${error.message}`, { cause: error })));
  tcp.server.on("error", (error) => fail(new DnsListenError(`the cluster DNS's TCP listener on ${options.host}:${options.port} failed: ${error.message}`, { cause: error })));
  return {
    host: options.host,
    port: options.port,
    failed,
    async close() {
      for (const connection of tcp.connections) connection.destroy();
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.server.close(() => resolve()))]);
    },
  };
}

async function bindUdp(options: DnsListenOptions): Promise<UdpSocket> {
  const socket = createSocket({ type: options.host.includes(":") ? "udp6" : "udp4" });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (error) => reject(listenError(error, options, "UDP")));
    socket.bind({ port: options.port, address: options.host, exclusive: true }, () => {
      socket.removeAllListeners("error");
      resolve();
    });
  });
  socket.on("message", (message, remote) => {
    const from: DnsPeer = { address: remote.address, port: remote.port, transport: "udp" };
    const send = (reply: Uint8Array | undefined) => {
      if (reply) socket.send(reply, remote.port, remote.address, (error) => error && options.onError(error, from));
    };
    try {
      const reply = options.handle(message, from);
      if (reply instanceof Promise) reply.then(send, (error: unknown) => options.onError(error, from));
      else send(reply);
    } catch (error) {
      options.onError(error, from);
    }
  });
  return socket;
}

async function listenTcp(options: DnsListenOptions): Promise<{ server: Server; connections: Set<Socket> }> {
  const connections = new Set<Socket>();
  const server = createServer({ noDelay: true }, (connection) => {
    connections.add(connection);
    connection.on("close", () => connections.delete(connection));
    serveConnection(connection, options);
  });
  server.maxConnections = TCP_MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(listenError(error, options, "TCP")));
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  return { server, connections };
}

/** Reads length-prefixed messages and answers each in turn; the connection closes when idle. */
function serveConnection(connection: Socket, options: DnsListenOptions): void {
  const from: DnsPeer = { address: connection.remoteAddress ?? "", port: connection.remotePort ?? 0, transport: "tcp" };
  let pending: Buffer = Buffer.alloc(0);
  let busy = false;
  connection.setTimeout(TCP_IDLE_MS, () => connection.destroy());
  // A client that resets or half-closes is no fault of ours: the connection just ends.
  connection.on("error", () => connection.destroy());
  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (pending.length >= 2 && !connection.destroyed) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const reply = await options.handle(message, from);
        if (!reply || connection.destroyed) continue;
        const frame = Buffer.allocUnsafe(2 + reply.length);
        frame.writeUInt16BE(reply.length, 0);
        frame.set(reply, 2);
        connection.write(frame);
      }
    } catch (error) {
      options.onError(error, from);
      connection.destroy();
    } finally {
      busy = false;
    }
  };
  connection.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (pending.length > TCP_MAX_PENDING) return void connection.destroy();
    void pump();
  });
}

function listenError(error: Error & { code?: string }, options: DnsListenOptions, protocol: "UDP" | "TCP"): Error {
  const where = `${options.host}:${options.port} (${protocol})`;
  if (error.code === "EADDRINUSE") {
    return new PortInUseError(`the cluster DNS cannot listen on ${where}: the port is in use`, {
      hint: `find what holds it (ss -lunp 'sport = :${options.port}'; ss -ltnp 'sport = :${options.port}'), or start this machine with another --dns-port`,
      cause: error,
    });
  }
  if (error.code === "EADDRNOTAVAIL") {
    return new DnsListenError(`the cluster DNS cannot listen on ${where}: ${options.host} is not an address of this machine`, { hint: "is the workload bridge up? (ip addr show docker0, or ployzbr0 on a meshed machine)", cause: error });
  }
  if (error.code === "EACCES") {
    return new DnsListenError(`the cluster DNS cannot listen on ${where}: permission denied`, { hint: "ports under 1024 need root or CAP_NET_BIND_SERVICE", cause: error });
  }
  return new DnsListenError(`the cluster DNS cannot listen on ${where}: ${error.message}`, { cause: error });
}
