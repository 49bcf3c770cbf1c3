import { createUser } from "@nats-io/nkeys";
import type { Argv, CommandModule } from "yargs";
import { MAX_CREDENTIAL_LIFETIME_MS, type CredentialFile } from "../../../model/credentials.ts";
import { parseDuration } from "../../../model/duration.ts";
import { InvalidArgumentError } from "../../../model/errors.ts";
import { CREDENTIAL_ROLES, type CredentialRole } from "../../../model/roles.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../../args.ts";
import { printJson, printLines, table } from "../../output.ts";

interface CreateArgs extends GlobalArgs {
  name: string;
  role: CredentialRole;
  expires: string | undefined;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: "create <name>",
  describe: "make a credential for another person or agent; prints its context file (with its private key) on stdout",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("role", { type: "string", choices: CREDENTIAL_ROLES, demandOption: true, describe: "observer: look only; operator: everything; gateway: routing and certificates" })
      .option("expires", { type: "string", describe: "lifetime, e.g. 8h, 7d (at most 366d); none: until revoked" }) as Argv<CreateArgs>,
  handler: async (args) => {
    const expiresInMs = args.expires === undefined ? undefined : parseLifetime(args.expires);
    // The key pair is made here: only the public key goes to the cluster.
    const pair = createUser();
    const reply = await withClient(args, async (client) => {
      const created = await client.createCredential({ name: args.name, role: args.role, publicKey: pair.getPublicKey(), ...(expiresInMs ? { expiresInMs } : {}) });
      const file: CredentialFile = {
        type: "ployz-credentials",
        name: created.credential.name,
        role: created.credential.role,
        servers: client.context.servers,
        machineId: client.context.machineId,
        seed: new TextDecoder().decode(pair.getSeed()),
        ...(created.credential.expiresAt ? { expiresAt: created.credential.expiresAt } : {}),
      };
      return file;
    });
    process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
    process.stderr.write(
      `credential ${reply.name} (${reply.role}${reply.expiresAt ? `, expires ${reply.expiresAt}` : ""}) created; the JSON above holds its private key: keep the file 0600, hand it over privately, and import it with \`ployzctl context import FILE\`\n`,
    );
  },
};

function parseLifetime(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`--expires ${text}: not a duration (e.g. 30m, 8h, 7d)`);
  if (ms > MAX_CREDENTIAL_LIFETIME_MS) throw new InvalidArgumentError(`--expires ${text}: at most 366d (make a new credential when it ends)`);
  return ms;
}

const ls: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "ls",
  describe: "list the credentials handed out: role, state (active, expired, revoked), expiry",
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.listCredentials());
    if (args.json) return printJson(reply);
    printLines(
      table(
        ["NAME", "ROLE", "STATE", "CREATED", "EXPIRES", "KEY"],
        reply.credentials.map((c) => [c.name, c.role, c.state === "revoked" ? `revoked ${c.revokedAt}` : c.state, c.createdAt, c.expiresAt ?? "-", c.publicKey]),
      ),
      ...reply.invalid.map((i) => `invalid record ${i.key}: ${i.error} (not admitted)`),
    );
  },
};

interface RevokeArgs extends GlobalArgs {
  name: string;
}

const revoke: CommandModule<GlobalArgs, RevokeArgs> = {
  command: "revoke <name>",
  describe: "revoke a credential: NATS refuses it from now on and closes its connections",
  builder: (y: Argv<GlobalArgs>) => y.positional("name", { type: "string", demandOption: true }) as Argv<RevokeArgs>,
  handler: async (args) => {
    const reply = await withClient(args, (client) => client.revokeCredential(args.name));
    if (args.json) return printJson(reply);
    printLines(`revoked credential ${reply.credential.name} (${reply.credential.role}) at ${reply.credential.revokedAt}`);
  },
};

export const credentialsCommand: CommandBody<GlobalArgs> = {
  builder: (y) => y.command(create).command(ls).command(revoke).demandCommand(1),
  handler: () => {},
};
