import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { InvalidArgumentError, toErrorPayload } from "../../model/errors.ts";

/** Answers one request: the verb is the subject's tail after the served prefix. */
export type RequestHandler = (verb: string, body: unknown) => Promise<unknown>;

export interface ServeOptions {
  /** Subject with a trailing `>`, e.g. `ployz.m.<id>.>` (the verb is what `>` matched), or one exact subject (verb ""). */
  subject: string;
  queue?: string;
  signal: AbortSignal;
  /** Called for every failure answered as an error reply (for the log). */
  onError?: (verb: string, error: unknown) => void;
  /** Told how long each answer took and whether it was an error reply (for metrics). */
  onAnswered?: (verb: string, seconds: number, ok: boolean) => void;
}

/**
 * Serves JSON request/reply on `subject` until `signal` aborts. A handler's error is answered as
 * `{ type: "error", error }`, never swallowed. If the subscription ends by itself (connection
 * closed, permission revoked) this rejects, so the supervisor sees a crash and restarts it.
 */
export async function serveRequests(nc: NatsConnection, handler: RequestHandler, options: ServeOptions): Promise<void> {
  const prefix = options.subject.replace(/>$/, "");
  const sub = nc.subscribe(options.subject, options.queue ? { queue: options.queue } : {});
  const onAbort = () => sub.unsubscribe();
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const msg of sub) void answer(msg, msg.subject.slice(prefix.length), handler, options);
  } finally {
    options.signal.removeEventListener("abort", onAbort);
  }
  if (!options.signal.aborted) throw new Error(`subscription to ${options.subject} ended: ${nc.isClosed() ? "connection closed" : "closed by server"}`);
}

async function answer(msg: Msg, verb: string, handler: RequestHandler, options: ServeOptions): Promise<void> {
  let reply: unknown;
  const started = performance.now();
  let ok = true;
  try {
    reply = await handler(verb, parseBody(msg));
  } catch (error) {
    ok = false;
    options.onError?.(verb, error);
    reply = { type: "error", error: toErrorPayload(error) };
  }
  if (msg.reply) msg.respond(JSON.stringify(reply));
  options.onAnswered?.(verb, (performance.now() - started) / 1000, ok);
}

function parseBody(msg: Msg): unknown {
  if (msg.data.length === 0) return {};
  try {
    return JSON.parse(msg.string());
  } catch {
    throw new InvalidArgumentError(`request on ${msg.subject} is not valid JSON`);
  }
}
