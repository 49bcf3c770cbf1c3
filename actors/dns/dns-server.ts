import { createSocket, type Socket } from "node:dgram";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import * as packet from "dns-packet";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import { answerQuestion, inClusterZone } from "../../model/dns-zone.ts";
import { CLUSTER_ZONE, emptyProjection, type RoutingProjection } from "../../model/routing.ts";
import type { RoutingConsumerStatus } from "../../model/routing-status.ts";
import { reportRouting } from "../routing/consumer-status.ts";
import { followRouting } from "../routing/follow-routing.ts";

export interface DnsDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  host: string;
  port: number;
  /** The host's resolver, for every name outside the cluster zone. */
  upstream: { host: string; port: number } | undefined;
  status: RoutingConsumerStatus;
  log: Logger;
}

/**
 * The cluster DNS: answers `*.ployz.internal` from the routing projection (ready, committed
 * instances only) and forwards everything else to the host's resolver. Same consumer pattern as
 * the gateway: reload on doubt, keep answering from the last projection while stale.
 */
export function createDnsServer(deps: DnsDeps) {
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    let projection: RoutingProjection = emptyProjection();
    const socket = createSocket({ type: deps.host.includes(":") ? "udp6" : "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(deps.port, deps.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const report = reportRouting(deps.status, deps.log, (r) => [`${r.service}.${r.namespace}.${CLUSTER_ZONE}`]);
    let crashed: ((error: Error) => void) | undefined;
    const crash = new Promise<never>((_, reject) => (crashed = reject));
    socket.on("error", (error) => crashed?.(error));
    socket.on("message", (message, remote) => {
      void answer(socket, message, remote, projection, deps).catch((error: unknown) => deps.log.warn({ err: error }, "dns query failed"));
    });
    try {
      await Promise.race([
        crash,
        followRouting({
          nc: deps.nc,
          js: deps.js,
          jsm: deps.jsm,
          signal,
          onReload: report.onReload,
          onFreshness: report.onFreshness,
          onProjection: (next) => {
            projection = next;
            report.applied(next);
          },
        }),
      ]);
    } finally {
      socket.close();
    }
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
