import { sleep } from "../actors/sleep.ts";
import type { LogsApiReply, LogsApiRequest } from "../model/api-deploy.ts";

/** How often `logs -f` asks for new lines when the last round had all there was. */
export const LOGS_POLL_MS = 500;

/**
 * Rounds of a service's logs: the first with each instance's last lines, then (with `follow`)
 * what came after, until `signal` aborts. Each round hands back the previous round's cursors, so
 * a line is shown once; the next round is asked only when the caller took this one, so a slow
 * terminal slows the reading down instead of piling lines up anywhere (each round is bounded by
 * the daemon, see LOGS_MAX_LINES).
 */
export async function* logRounds(ask: (request: LogsApiRequest) => Promise<LogsApiReply>, request: LogsApiRequest, options: { follow: boolean; signal: AbortSignal; pollMs?: number }): AsyncGenerator<LogsApiReply> {
  let cursors = request.cursors ?? {};
  while (!options.signal.aborted) {
    const reply = await ask({ ...request, cursors });
    cursors = reply.cursors;
    yield reply;
    if (reply.more) continue;
    if (!options.follow) return;
    await sleep(options.pollMs ?? LOGS_POLL_MS, options.signal);
  }
}
