import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fromCallback } from "xstate";
import type { Logger } from "pino";
import type { JoinListenerEvent } from "../../machines/join-listener.ts";
import type { JoinResponse } from "../../model/invite.ts";

/** A join request's body is small (public keys and a MAC): anything larger is refused unread. */
const MAX_BODY_BYTES = 16 * 1024;

export interface JoinServerDeps {
  /** Where it listens: the underlay address (never every interface unless the operator said so). */
  host: string;
  port: number;
  /** Answers one request body (actors/mesh/admit-joiner.ts). */
  admit: (body: unknown) => Promise<JoinResponse>;
  log: Pick<Logger, "info" | "warn" | "error">;
}

/**
 * The join listener's I/O: an HTTP server taking `POST /join` (JSON) on the underlay, open only
 * while the joinListener statechart is `open`. A failure to listen (the address is not on this
 * machine, the port is taken) is LISTEN_FAILED.
 */
export function createJoinServer(deps: JoinServerDeps) {
  return fromCallback<JoinListenerEvent>(({ sendBack }) => {
    const server = createServer((request, response) => void handle(deps, request, response));
    server.once("error", (error) => sendBack({ type: "LISTEN_FAILED", reason: `cannot listen on ${deps.host}:${deps.port}: ${error.message}` }));
    server.listen({ host: deps.host, port: deps.port, exclusive: true }, () => deps.log.info({ address: `${deps.host}:${deps.port}` }, "join listener open"));
    return () => {
      // A join being answered finishes (its invite was just used, which is what closes the listener).
      server.close();
      server.closeIdleConnections();
      deps.log.info({ address: `${deps.host}:${deps.port}` }, "join listener closed");
    };
  });
}

async function handle(deps: JoinServerDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const reply = (status: number, body: JoinResponse) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  };
  if (request.method !== "POST" || request.url !== "/join") return reply(404, { type: "refused", reason: "this listener takes POST /join only" });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return reply(413, { type: "refused", reason: "the join request is too large" });
      chunks.push(chunk);
    }
  } catch (error) {
    deps.log.warn({ err: error }, "a join request could not be read");
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    return reply(400, { type: "refused", reason: `the join request is not JSON (${(error as Error).message})` });
  }
  try {
    const answer = await deps.admit(body);
    reply(answer.type === "refused" ? 403 : 200, answer);
  } catch (error) {
    deps.log.error({ err: error }, "a join request failed");
    reply(500, { type: "refused", reason: `the inviting machine failed: ${error instanceof Error ? error.message : String(error)} (see its log)` });
  }
}
