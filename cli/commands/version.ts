import { RUNNING_FROM } from "../../runtime/build-info.ts";
import { VERSION } from "../../runtime/version.ts";
import type { CommandBody, GlobalArgs } from "../args.ts";
import { printJson, printLines } from "../output.ts";

/** `ployzctl version`: also says whether it ran from the bundle, which tests check. */
export const versionCommand: CommandBody<GlobalArgs> = {
  handler: (args) => {
    if (args.json) printJson({ version: VERSION, node: process.version, runningFrom: RUNNING_FROM });
    else printLines(`ployzctl ${VERSION} (node ${process.version}, from the ${RUNNING_FROM})`);
  },
};
