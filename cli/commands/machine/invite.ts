import type { Argv, CommandModule } from "yargs";
import { parseDuration } from "../../../model/duration.ts";
import { InvalidArgumentError } from "../../../model/errors.ts";
import { MAX_INVITE_TTL_MS } from "../../../model/invite.ts";
import { withClient, type GlobalArgs } from "../../args.ts";
import { printJson, printLines } from "../../output.ts";

interface InviteArgs extends GlobalArgs {
  region: string | undefined;
  zone: string | undefined;
  storage: boolean;
  ttl: string;
}

/** `ployzctl machine invite`: a one-time token for `ployzd join` on a new machine. */
export const machineInviteCommand: CommandModule<GlobalArgs, InviteArgs> = {
  command: "invite",
  describe: "make a one-time token that lets a new machine join (`ployzd join TOKEN` there)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("region", { type: "string", describe: "the new machine's region (default: the inviting machine's)" })
      .option("zone", { type: "string", describe: "the new machine's availability zone" })
      .option("storage", { type: "boolean", default: false, describe: "let it hold the store (comes in the next issue: refused for now)" })
      .option("ttl", { type: "string", default: "10m", describe: "how long the token can be used, e.g. 10m, 1h (at most 7d)" }) as Argv<InviteArgs>,
  handler: async (args) => {
    const ttlMs = parseDuration(args.ttl);
    if (ttlMs === undefined || ttlMs <= 0) throw new InvalidArgumentError(`--ttl ${args.ttl}: not a duration (e.g. 10m, 1h)`);
    if (ttlMs > MAX_INVITE_TTL_MS) throw new InvalidArgumentError(`--ttl ${args.ttl}: at most 7d`);
    const reply = await withClient(args, (client) =>
      client.inviteMachine({ ...(args.region ? { region: args.region } : {}), ...(args.zone ? { zone: args.zone } : {}), storage: args.storage, ttlMs }),
    );
    if (args.json) return printJson(reply);
    printLines(
      reply.token,
      "",
      `one machine can join with this token until ${reply.expiresAt} (region ${reply.region}${reply.zone ? `, zone ${reply.zone}` : ""}); on the new machine run:`,
      `  ployzd join <token> [--endpoint HOST:PORT]    (it reaches machine ${reply.inviter} at ${reply.join})`,
      "the token holds a secret: hand it over privately",
    );
  },
};
