import type { Argv, CommandModule } from "yargs";
import { REGION_ROLES, type RegionRole } from "../../../model/region.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, table } from "../../output.ts";

interface RegionSetArgs extends GlobalArgs {
  region: string;
  role: RegionRole;
}

const regionSet: CommandModule<GlobalArgs, RegionSetArgs> = {
  command: "set <region> <role>",
  describe: "set a region's role; draining or disabled moves its instances off",
  builder: (y: Argv<GlobalArgs>) =>
    y.positional("region", { type: "string", demandOption: true }).positional("role", { type: "string", choices: REGION_ROLES, demandOption: true }) as Argv<RegionSetArgs>,
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.regionSet(args.region, args.role));
    if (args.json) return printJson(reply);
    printLines(`region ${reply.region} is now ${reply.role}`, ...reply.redeployed.map((r) => `  redeployed ${r.namespace}: ${r.outcome} ${r.detail}`));
    if (reply.redeployed.some((r) => r.outcome === "failed")) process.exitCode = 1;
  },
};

const regionLs: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "ls",
  describe: "list regions, their roles and machines",
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.regionLs());
    if (args.json) return printJson(reply);
    printLines(table(["REGION", "ROLE", "MACHINES"], reply.regions.map((r) => [r.name, `${r.role}${r.explicit ? "" : " (default)"}`, r.machines.join(", ") || "-"])));
  },
};

export const regionCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(regionSet).command(regionLs).demandCommand(1),
  handler: () => {},
};
