import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import { promisify } from "node:util";
import * as packet from "dns-packet";
import { freeDnsPort } from "../../actors/dns/dns-address.ts";

/**
 * DNS pieces for tests and benchmarks, on loopback only: a minimal static DNS server written
 * with `dns-packet` (a fake upstream resolver, and the benchmark's baseline), and `dig`.
 */

export interface StaticDns {
  host: string;
  port: number;
  /** Queries received, by transport, and the names asked. */
  received: { udp: number; tcp: number; names: string[] };
  /** Stop answering (true) or answer again (false). */
  setSilent(silent: boolean): void;
  close(): Promise<void>;
}

export interface StaticDnsOptions {
  /** Addresses answered (A) for every name; the reply is whole over TCP. */
  addresses?: string[];
  /** Names whose UDP reply is an empty one with TC (to see a client retry over TCP). */
  truncateOverUdp?: string[];
  /** Receive and never answer (an upstream that times out). */
  silent?: boolean;
}

/** A DNS server on 127.0.0.1 (UDP and TCP, one free port) that answers every A question from a fixed list. */
export async function startStaticDns(options: StaticDnsOptions = {}): Promise<StaticDns> {
  const host = "127.0.0.1";
  const port = await freeDnsPort(host);
  const received: StaticDns["received"] = { udp: 0, tcp: 0, names: [] };
  let silent = options.silent ?? false;
  const answer = (message: Buffer, transport: "udp" | "tcp"): Buffer | undefined => {
    received[transport]++;
    const query = packet.decode(message);
    const question = query.questions?.[0];
    if (question) received.names.push(question.name);
    if (silent || !question) return undefined;
    const truncate = transport === "udp" && (options.truncateOverUdp ?? []).includes(question.name);
    return packet.encode({
      type: "response",
      id: query.id ?? 0,
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (truncate ? packet.TRUNCATED_RESPONSE : 0),
      questions: query.questions ?? [],
      answers: truncate || question.type !== "A" ? [] : (options.addresses ?? ["192.0.2.1"]).map((data) => ({ type: "A" as const, name: question.name, ttl: 60, class: "IN" as const, data })),
    });
  };
  const udp = createSocket("udp4");
  udp.on("message", (message, remote) => {
    const reply = answer(message, "udp");
    if (reply) udp.send(reply, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, host, () => resolve()));
  const connections = new Set<Socket>();
  const tcp = createServer((socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        const reply = answer(message, "tcp");
        if (reply) socket.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen({ host, port }, () => resolve()));
  return {
    host,
    port,
    received,
    setSilent: (value) => (silent = value),
    async close() {
      for (const socket of connections) socket.destroy();
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
    },
  };
}

/** What `dig` printed, read. */
export interface DigResult {
  status: string;
  flags: string[];
  answers: Array<{ name: string; ttl: number; type: string; data: string }>;
  /** MSG SIZE rcvd. */
  size: number;
  /** dig saw TC and retried over TCP. */
  retriedOverTcp: boolean;
  output: string;
}

const run = promisify(execFile);

/** `dig @server -p port name type [flags…]`, one try, 2 s (inside network namespace `netns` if given). Fails if dig gets no reply. */
export async function dig(server: string, port: number, name: string, type = "A", flags: string[] = [], options: { netns?: string } = {}): Promise<DigResult> {
  const args = [`@${server}`, "-p", String(port), name, type, "+tries=1", "+time=2", ...flags];
  const { stdout } = await (options.netns ? run("ip", ["netns", "exec", options.netns, "dig", ...args]) : run("dig", args)).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`dig ${name} at ${server}:${port} failed: ${error.stdout ?? ""}${error.message}`);
  });
  const status = /status: (\w+)/.exec(stdout)?.[1];
  if (!status) throw new Error(`dig printed no reply:\n${stdout}`);
  const answerSection = stdout.split(";; ANSWER SECTION:\n")[1]?.split("\n\n")[0] ?? "";
  return {
    status,
    flags: (/;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? "").trim().split(/\s+/),
    answers: answerSection
      .split("\n")
      .filter((line) => line && !line.startsWith(";"))
      .map((line) => {
        const [owner, ttl, , rtype, ...data] = line.split(/\s+/);
        return { name: owner!, ttl: Number(ttl), type: rtype!, data: data.join(" ") };
      }),
    size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(stdout)?.[1] ?? Number.NaN),
    retriedOverTcp: stdout.includes("Truncated, retrying in TCP mode"),
    output: stdout,
  };
}
