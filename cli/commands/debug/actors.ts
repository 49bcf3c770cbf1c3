import type { Argv, CommandModule } from "yargs";
import { formatAge, formatEvent, machineHealth, topView } from "../../../model/top-model.ts";
import { collectTopOnce } from "../../../runtime/top-feed.ts";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, table } from "../../output.ts";

interface ActorsArgs extends GlobalArgs {
  machine: string | undefined;
}

/** `ployzctl debug actors`: every machine's live actor list, from its next snapshot. */
export const debugActorsCommand: CommandModule<GlobalArgs, ActorsArgs> = {
  command: "actors",
  describe: "list the live actors of every machine (or one), from their inspectors",
  builder: (y: Argv<GlobalArgs>) => y.option("machine", { type: "string", describe: "only this machine" }),
  handler: async (args) => {
    const state = await withClient(args, (client) => collectTopOnce(client, { machine: args.machine }));
    const machines = topView(state.model, state.now).machines.filter((m) => !args.machine || m.id === args.machine);
    if (args.json) {
      return printJson({
        at: new Date(state.now).toISOString(),
        machines: machines.map((m) => ({
          machine: m.id,
          reachable: m.reachable,
          liveness: m.liveness,
          ...(m.unreachableReason ? { unreachableReason: m.unreachableReason } : {}),
          lastSnapshotAgeMs: m.lastSnapshotAgeMs ?? null,
          actors: m.actors.map(({ events: _events, prefix: _prefix, ...actor }) => actor),
        })),
      });
    }
    const lines: string[] = [];
    for (const m of machines) {
      lines.push(m.reachable ? `${m.id}: ${m.actors.length} actors` : `${m.id}: ${machineHealth(m)}`);
      if (m.actors.length === 0) continue;
      lines.push(
        table(
          ["ACTOR", "CHART", "STATE", "STATUS", "IN STATE", "RESTARTS", "LAST EVENT", "ERROR"],
          m.actors.map((a) => [`${a.prefix}${a.name}`, a.chart ?? "-", a.state ?? "-", a.status, formatAge(a.inStateMs), a.restarts === undefined ? "-" : String(a.restarts), a.lastEvent ? formatEvent(a.lastEvent) : "-", a.error ?? ""]),
        ),
        "",
      );
    }
    printLines(...(lines.length ? lines : ["no machine published its actors"]));
  },
};
