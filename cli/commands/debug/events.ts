import type { Argv, CommandModule } from "yargs";
import type { ActorEventsMessage } from "../../../model/actor-events.ts";
import { formatEvent, topView } from "../../../model/top-model.ts";
import { collectTopOnce } from "../../../runtime/top-feed.ts";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface EventsArgs extends GlobalArgs {
  machine: string | undefined;
  follow: boolean;
}

/** `ployzctl debug events`: the last event of every actor; `--follow` streams them as they happen. */
export const debugEventsCommand: CommandModule<GlobalArgs, EventsArgs> = {
  command: "events",
  describe: "the events the actors process (each actor's last one; --follow streams them)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("machine", { type: "string", describe: "only this machine" })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "print events as they happen (Ctrl-C to stop)" }),
  handler: async (args) => {
    await withClient(args, async (client) => {
      if (!args.follow) {
        const state = await collectTopOnce(client, { machine: args.machine });
        const actors = topView(state.model, state.now).machines.flatMap((m) => m.actors.filter((a) => a.lastEvent).map((a) => ({ machine: m.id, path: a.path, event: a.lastEvent!, state: a.state })));
        if (args.json) return printJson({ at: new Date(state.now).toISOString(), lastEvents: actors });
        return printLines(...(actors.length ? actors.map((a) => `${a.machine}  ${a.path}  ${formatEvent(a.event)}${a.state ? ` → ${a.state}` : ""}`) : ["no events"]));
      }
      await new Promise<void>((resolve) => {
        const stop = client.watchEvents((batch) => printBatch(batch, args.json), args.machine ? { machine: args.machine } : {});
        const end = () => {
          stop();
          resolve();
        };
        process.once("SIGINT", end);
        process.once("SIGTERM", end);
        process.stderr.write(`following events of ${args.machine ?? "every machine"} (Ctrl-C to stop)\n`);
      });
    });
  },
};

function printBatch(batch: ActorEventsMessage, json: boolean): void {
  const out: string[] = [];
  for (const e of batch.events) {
    out.push(
      json
        ? JSON.stringify({ machine: batch.machine, at: new Date(e.at).toISOString(), path: e.path, event: e.event, state: e.state ?? null })
        : `${new Date(e.at).toISOString().slice(11, 23)}  ${batch.machine}  ${e.path}  ${formatEvent(e.event)}${e.state ? ` → ${e.state}` : ""}`,
    );
  }
  if (batch.dropped) out.push(json ? JSON.stringify({ machine: batch.machine, dropped: batch.dropped }) : `… ${batch.machine} dropped ${batch.dropped} events to keep its rate`);
  if (out.length) process.stdout.write(`${out.join("\n")}\n`);
}
