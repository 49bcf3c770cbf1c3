import { PermissionViolationError, RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import type { z } from "zod";
import { errorReplySchema } from "../../model/api.ts";
import { InvalidStateError, NoResponderError, PermissionDeniedError, RemoteError, RequestTimeoutError } from "../../model/errors.ts";

export interface RequestOptions {
  timeoutMs?: number;
  /** Who is being asked, for error messages: "machine dev-1a2b", "ployzd". */
  who: string;
}

/**
 * One JSON request/reply. No responder or a timeout fails at once with a typed error naming the
 * subject and who was asked; an error reply becomes a RemoteError; nothing is retried.
 */
export async function requestJson<T>(
  nc: NatsConnection,
  subject: string,
  payload: unknown,
  schema: z.ZodType<T>,
  options: RequestOptions,
): Promise<T> {
  const timeout = options.timeoutMs ?? 5_000;
  let text: string;
  try {
    const reply = await nc.request(subject, payload === undefined ? "" : JSON.stringify(payload), { timeout });
    text = reply.string();
  } catch (error) {
    throw translateRequestError(error, subject, options.who, timeout);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidStateError(`${options.who} answered ${subject} with something that is not JSON`, { cause: error });
  }
  const failure = errorReplySchema.safeParse(json);
  if (failure.success) throw new RemoteError(failure.data.error, options.who);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidStateError(`${options.who} answered ${subject} with an unexpected reply: ${parsed.error.issues[0]?.message ?? "invalid"}`, {
      hint: "the daemon and the CLI may be different versions (`ployzctl version`)",
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Translates a NATS request failure into NoResponderError / RequestTimeoutError / PermissionDeniedError. */
export function translateRequestError(error: unknown, subject: string, who: string, timeoutMs: number): Error {
  const violation = error instanceof PermissionViolationError ? error : error instanceof Error && error.cause instanceof PermissionViolationError ? error.cause : undefined;
  if (violation) {
    return new PermissionDeniedError(`NATS refused this identity ${violation.operation === "publish" ? "a request on" : "a subscription to"} ${violation.subject}`, {
      hint: "this context's role does not allow it (`ployzctl credentials ls` on an operator's context shows the roles)",
      cause: error,
    });
  }
  if (error instanceof RequestError && error.isNoResponders()) {
    return new NoResponderError(`no responder for ${subject}: ${who} is not serving it`, {
      hint: "is that machine's ployzd running? (`ployzctl status`)",
      cause: error,
    });
  }
  if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
    return new RequestTimeoutError(`${who} did not answer ${subject} within ${timeoutMs} ms`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
