import type { CommandModule } from "yargs";
import { VERSION } from "../../runtime/version.ts";
import type { GlobalArgs } from "../args.ts";
import { printJson, printLines } from "../output.ts";

/** `ployzctl version`. */
export const versionCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "version",
  describe: "print the version",
  handler: (args) => {
    if (args.json) printJson({ version: VERSION, node: process.version });
    else printLines(`ployzctl ${VERSION} (node ${process.version})`);
  },
};
