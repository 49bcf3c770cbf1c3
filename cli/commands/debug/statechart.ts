import type { Argv, CommandModule } from "yargs";
import { NotFoundError } from "../../../model/errors.ts";
import { STATECHART_FORMATS, type StatechartFormat } from "../../../tui/statechart/formats.ts";
import type { GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface StatechartArgs extends GlobalArgs {
  name: string | undefined;
  format: StatechartFormat;
  state: string | undefined;
}

/** `ployzctl debug statechart NAME`: a statechart of machines/, drawn; no cluster needed. */
export const debugStatechartCommand: CommandModule<GlobalArgs, StatechartArgs> = {
  command: "statechart [name]",
  describe: "draw a statechart (mermaid, dot, json or ascii); without a name, list them",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("name", { type: "string", describe: "node, supervisedChild, meshPeer, deploy, … (none: list them)" })
      .option("format", { type: "string", choices: STATECHART_FORMATS, default: "ascii" as StatechartFormat, describe: "how to draw it" })
      .option("state", { type: "string", describe: "mark this state as the current one (e.g. leased.probing)" }) as unknown as Argv<StatechartArgs>,
  handler: async (args) => {
    // The statecharts (and what they import) load only for this command.
    const [{ statechartGraph }, { STATECHART_NAMES, statechartNamed }, { renderStatechart }] = await Promise.all([
      import("../../../tui/statechart/graph.ts"),
      import("../../../tui/statechart/registry.ts"),
      import("../../../tui/statechart/render.ts"),
    ]);
    if (!args.name) {
      if (args.json) return printJson({ statecharts: STATECHART_NAMES });
      return printLines(...STATECHART_NAMES);
    }
    const machine = statechartNamed(args.name);
    if (!machine) throw new NotFoundError(`there is no statechart ${args.name}`, { hint: `the statecharts: ${STATECHART_NAMES.join(", ")}` });
    const graph = statechartGraph(machine);
    const options = args.state ? { current: args.state } : {};
    process.stdout.write(renderStatechart(graph, args.json ? "json" : args.format, options));
  },
};
