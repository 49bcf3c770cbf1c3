import { createSocket, type Socket } from "node:dgram";
import * as packet from "dns-packet";
import type { Logger } from "pino";
import { fromCallback } from "xstate";
import type { ApplierEvent } from "../../machines/routing-consumer.ts";
import { answerQuestion, inClusterZone } from "../../model/dns-zone.ts";
import { emptyProjection, type RoutingProjection } from "../../model/routing.ts";

export interface DnsDeps {
  host: string;
  port: number;
  /** The host's resolver, for every name outside the cluster zone. */
  upstream: { host: string; port: number } | undefined;
  log: Logger;
}

/**
 * The cluster DNS, the DNS's applier (of machines/routing-consumer.ts): answers
 * `*.ployz.internal` from the last projection it was sent (ready, committed instances only) and
 * forwards everything else to the host's resolver. A socket that cannot be bound, or fails, ends
 * the consumer (APPLIER_CRASHED): its supervisor restarts it.
 */
export function createDnsApplier(deps: DnsDeps) {
  return fromCallback<ApplierEvent, { kind: "gateway" | "dns" }>(({ sendBack, receive }) => {
    let projection: RoutingProjection = emptyProjection();
    let closed = false;
    const socket = createSocket({ type: deps.host.includes(":") ? "udp6" : "udp4", reuseAddr: false });
    socket.on("error", (error) => {
      if (!closed) sendBack({ type: "APPLIER_CRASHED", error: `the DNS socket ${deps.host}:${deps.port}: ${error.message}` });
    });
    socket.bind(deps.port, deps.host);
    socket.on("message", (message, remote) => {
      void answer(socket, message, remote, projection, deps).catch((error: unknown) => deps.log.warn({ err: error }, "dns query failed"));
    });
    receive((event) => {
      projection = event.projection;
      sendBack({ type: "APPLIED", seq: projection.seq, excluded: [] });
    });
    return () => {
      closed = true;
      socket.close();
    };
  });
}

async function answer(socket: Socket, message: Buffer, remote: { address: string; port: number }, projection: RoutingProjection, deps: DnsDeps): Promise<void> {
  let query: packet.Packet;
  try {
    query = packet.decode(message);
  } catch {
    return; // not DNS: ignore
  }
  const question = query.questions?.[0];
  if (!question) return;
  if (!inClusterZone(question.name)) {
    if (!deps.upstream) return reply(socket, remote, { ...base(query), flags: RCODES.REFUSED } as never);
    return forward(socket, message, remote, deps.upstream, query);
  }
  const result = answerQuestion(projection, question.name, question.type);
  reply(socket, remote, {
    ...base(query),
    // dns-packet carries the rcode in the low four bits of the flags.
    flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | RCODES[result.rcode],
    answers: result.answers.map((a) => ({ type: a.type, name: a.name, ttl: a.ttl, class: "IN", data: a.data }) as packet.Answer),
  } as never);
}

const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

function base(query: packet.Packet) {
  return { id: query.id, type: "response" as const, questions: query.questions };
}

function reply(socket: Socket, remote: { address: string; port: number }, response: packet.Packet): void {
  socket.send(packet.encode(response), remote.port, remote.address);
}

function forward(socket: Socket, message: Buffer, remote: { address: string; port: number }, upstream: { host: string; port: number }, query: packet.Packet): void {
  const out = createSocket(upstream.host.includes(":") ? "udp6" : "udp4");
  const timer = setTimeout(() => {
    out.close();
    reply(socket, remote, { ...base(query), flags: RCODES.SERVFAIL } as never);
  }, 2_000);
  out.on("message", (response) => {
    clearTimeout(timer);
    out.close();
    socket.send(response, remote.port, remote.address);
  });
  out.on("error", () => undefined);
  out.send(message, upstream.port, upstream.host);
}
