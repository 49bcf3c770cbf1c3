import type { Argv } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { formatTime, printJson, printLines, table } from "../output.ts";

interface HistoryArgs extends GlobalArgs {
  namespace: string;
}

/** `ployzctl history -n NS`: the namespace's commits, oldest first. */
export const historyCommand: CommandBody<HistoryArgs> = {
  builder: (y: Argv<GlobalArgs>) => y.option("namespace", { alias: "n", type: "string", demandOption: true }),
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.history(args.namespace));
    if (args.json) return printJson(reply);
    printLines(
      table(
        ["COMMIT", "DEPLOY", "CREATED", "BY", "INSTANCES", "REVISIONS", "NOTE"],
        reply.commits.map((c) => [
          String(c.seq),
          c.deployId,
          formatTime(c.createdAt),
          c.authority,
          String(c.instances),
          Object.entries(c.revisions)
            .map(([s, r]) => `${s}=${r.slice(0, 8)}`)
            .join(" "),
          [c.head ? "head" : "", c.kind === "removal" ? "namespace removed" : "", c.rollbackOf ? `rollback to ${c.rollbackOf}` : "", c.reason ?? ""].filter(Boolean).join(", "),
        ]),
      ),
      `(the store keeps the last ${reply.kept} commits of a namespace; rollback can name any of these)`,
    );
  },
};
