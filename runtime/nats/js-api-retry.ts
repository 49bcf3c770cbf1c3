import { RequestError, type NatsConnection } from "@nats-io/transport-node";

/** How long a JetStream API request waits between attempts while nobody answers it. */
export const JS_API_RETRY_DELAYS_MS = [20, 50, 100, 200, 400, 800] as const;

/**
 * nats-server answers "no responders" on the JetStream API for a moment while it reloads its
 * configuration: 2.9.10 re-creates the accounts and adds the domain's `$JS.ployz.API` mapping back
 * last, and switches the account's JetStream back on after that: "JetStream not enabled for
 * account", err_code 10039 (server/reload.go, reloadAuthorization). Ployz reloads whenever a
 * credential or a machine is admitted. The store changing hands (PLATFORM.md, growing the JetStream cluster) does
 * the same. Such a request is asked again after a short wait, up to JS_API_RETRY_DELAYS_MS, each
 * wait reported through `notice`; after the last one the original error is thrown. Only `$JS.`
 * subjects are retried, and only for those two answers: a timeout or a refusal fails at once.
 */
export function retryingJsApi(
  nc: NatsConnection,
  notice: (message: string) => void,
  delaysMs: readonly number[] = JS_API_RETRY_DELAYS_MS,
): NatsConnection {
  const request: NatsConnection["request"] = async (subject, payload, options) => {
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      try {
        const reply = await nc.request(subject, payload, options);
        if (!subject.startsWith("$JS.") || !saysNotEnabled(reply.data) || delaysMs[attempt] === undefined) return reply;
        reason = "JetStream not enabled for the account";
      } catch (error) {
        if (!subject.startsWith("$JS.") || !isNoResponders(error) || delaysMs[attempt] === undefined) throw error;
        reason = "no responders";
      }
      const delay = delaysMs[attempt]!;
      notice(`JetStream API did not answer ${subject} (${reason}, attempt ${attempt + 1}): asking again in ${delay} ms — nats-server may be reloading its configuration`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  return new Proxy(nc, {
    get(target, property) {
      if (property === "request") return request;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The API's error reply while an account's JetStream is switched back on (err_code 10039). */
const NOT_ENABLED = /"err_code":\s*10039\b/;

function saysNotEnabled(data: Uint8Array): boolean {
  return data.length < 512 && NOT_ENABLED.test(new TextDecoder().decode(data));
}

function isNoResponders(error: unknown): boolean {
  return error instanceof RequestError && error.isNoResponders();
}

/** The default notice for a process without a log: one line on stderr per wait. */
export function noticeOnStderr(message: string): void {
  process.stderr.write(`ployz: ${message}\n`);
}
