import type { Argv } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { printJson } from "../output.ts";

interface LogsArgs extends GlobalArgs {
  namespace: string;
  service: string;
  follow: boolean;
  tail: number;
}

/** `ployzctl logs -n NS SERVICE [-f]`: every instance's output, prefixed with its slot and machine. */
export const logsCommand: CommandBody<LogsArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("namespace", { alias: "n", type: "string", demandOption: true })
      .positional("service", { type: "string", demandOption: true })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep printing new output (Ctrl-C to stop)" })
      .option("tail", { type: "number", default: 100, describe: "lines per instance to start with" }),
  handler: async (args) => {
    await withClient(args, async (client) => {
      let since: number | undefined;
      let stop = false;
      process.once("SIGINT", () => (stop = true));
      do {
        const reply = await client.logs(args.namespace, args.service, since === undefined ? args.tail : 10_000, since);
        if (args.json) printJson(reply);
        else {
          for (const entry of reply.entries) {
            const prefix = `${args.service}#${entry.slot}@${entry.machine} | `;
            if (entry.error) process.stderr.write(`${prefix}(logs unavailable: ${entry.error})\n`);
            for (const line of (entry.text ?? "").split("\n").filter(Boolean)) process.stdout.write(`${prefix}${line}\n`);
          }
        }
        since = reply.at;
        if (args.follow && !stop) await new Promise((resolve) => setTimeout(resolve, 1_000));
      } while (args.follow && !stop);
    });
  },
};
