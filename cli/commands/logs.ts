import type { Argv } from "yargs";
import { parseDuration } from "../../model/duration.ts";
import { InvalidArgumentError } from "../../model/errors.ts";
import { logRounds } from "../../runtime/follow-logs.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";

interface LogsArgs extends GlobalArgs {
  namespace: string;
  service: string;
  follow: boolean;
  tail: number;
  since: string | undefined;
  timestamps: boolean;
}

/** `ployzctl logs -n NS SERVICE [--since 10m] [-f] [--timestamps]`: every instance's output, on any machine, merged by time. */
export const logsCommand: CommandBody<LogsArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("namespace", { alias: "n", type: "string", demandOption: true })
      .positional("service", { type: "string", demandOption: true })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep printing new output (Ctrl-C to stop)" })
      .option("tail", { type: "number", default: 100, describe: "lines per instance to start with" })
      .option("since", { type: "string", describe: "only lines of the last DURATION (e.g. 10m, 2h)" })
      .option("timestamps", { alias: "t", type: "boolean", default: false, describe: "show each line's time" }),
  handler: async (args) => {
    const since = args.since === undefined ? undefined : parseDuration(args.since);
    if (since === undefined && args.since !== undefined) throw new InvalidArgumentError(`--since ${args.since}: give a duration like 10m or 2h`);
    await withClient(args, async (client) => {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      const reported = new Map<string, string>();
      try {
        const request = { namespace: args.namespace, service: args.service, tail: args.tail, ...(since !== undefined ? { sinceMs: Date.now() - since } : {}) };
        for await (const round of logRounds((r) => client.logs(r), request, { follow: args.follow, signal: abort.signal })) {
          for (const e of round.errors) {
            const key = `${e.slot}@${e.machine}`;
            if (reported.get(key) === e.error) continue; // said once, not every round
            reported.set(key, e.error);
            if (args.json) process.stdout.write(`${JSON.stringify({ slot: e.slot, machine: e.machine, error: e.error })}\n`);
            else process.stderr.write(`${args.service}#${e.slot}@${e.machine} | (logs unavailable: ${e.error})\n`);
          }
          if (round.lines.length === 0) continue;
          const text = round.lines
            .map((l) => (args.json ? JSON.stringify(l) : `${args.timestamps ? `${l.time} ` : ""}${args.service}#${l.slot}@${l.machine} | ${l.text}`))
            .join("\n");
          // back-pressure: the next round is asked only once the terminal took this one
          if (!process.stdout.write(`${text}\n`)) await new Promise((resolve) => process.stdout.once("drain", resolve));
        }
      } finally {
        process.off("SIGINT", stop);
      }
    });
  },
};
