import type { Argv } from "yargs";
import { formatEvent } from "../../model/cluster-events.ts";
import { parseDuration } from "../../model/duration.ts";
import { InvalidArgumentError } from "../../model/errors.ts";
import { eventPages } from "../../runtime/follow-events.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";

interface EventsArgs extends GlobalArgs {
  namespace: string | undefined;
  since: string | undefined;
  follow: boolean;
}

/** `ployzctl events [-n NS] [--since 10m] [--follow] [--json]`: what the cluster did, from its durable Status. */
export const eventsCommand: CommandBody<EventsArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("namespace", { alias: "n", type: "string", describe: "only this namespace's events" })
      .option("since", { type: "string", describe: "only events of the last DURATION (e.g. 10m, 2h, 7d)" })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep printing new events (Ctrl-C to stop)" }),
  handler: async (args) => {
    const sinceMs = args.since === undefined ? undefined : parseDuration(args.since);
    if (sinceMs === undefined && args.since !== undefined) throw new InvalidArgumentError(`--since ${args.since}: give a duration like 10m, 2h or 7d`);
    await withClient(args, async (client) => {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      try {
        const request = { ...(args.namespace ? { namespace: args.namespace } : {}), ...(sinceMs !== undefined ? { sinceMs: Date.now() - sinceMs } : {}) };
        for await (const events of eventPages((r) => client.events(r), request, { follow: args.follow, signal: abort.signal })) {
          const text = events.map((e) => (args.json ? JSON.stringify(e) : formatEvent(e))).join("\n");
          if (!process.stdout.write(`${text}\n`)) await new Promise((resolve) => process.stdout.once("drain", resolve));
        }
      } finally {
        process.off("SIGINT", stop);
      }
    });
  },
};
