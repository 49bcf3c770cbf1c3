import type { Argv } from "yargs";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { printJson, printLines, progressOn } from "../output.ts";

interface RollbackArgs extends GlobalArgs {
  namespace: string;
  to: number | undefined;
}

/** `ployzctl rollback -n NS [--to COMMIT]`: a new commit that re-applies an older spec. */
export const rollbackCommand: CommandBody<RollbackArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("namespace", { alias: "n", type: "string", demandOption: true })
      .option("to", { type: "number", describe: "the commit to go back to (default: the one before the head)" }),
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.rollback(args.namespace, args.to, progressOn(args)));
    if (args.json) return printJson(reply);
    if (reply.type !== "deployed") return printLines(`namespace ${reply.namespace}: nothing to change`);
    printLines(`rolled back namespace ${reply.namespace}: new commit ${reply.commitSeq} (deploy ${reply.deployId})`, ...reply.lines, ...(reply.warnings ?? []).map((w) => `warning: ${w}`));
  },
};
