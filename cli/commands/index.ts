import type { CommandBuilder } from "yargs";
import type { GlobalArgs } from "../args.ts";

/** A loaded command body (cli/args.ts CommandBody) of whatever options. */
export interface LoadedCommand {
  builder?: CommandBuilder<GlobalArgs, any>;
  handler: (args: any) => void | Promise<void>;
}

/** A top-level command: what `--help` shows of it, and how to load the rest when it runs. */
export interface CommandEntry {
  /** yargs' command string: the name, then its positionals. */
  command: string;
  describe: string;
  load: () => Promise<LoadedCommand>;
  /** Works on this computer only, never through a context (so never inside a lab machine's namespace). */
  local?: true;
}

/**
 * Every top-level command of `ployzctl`, in the order `--help` lists them. Only the command being
 * run is imported (its own chunk of the bundle): `version` never loads the NATS client, `status`
 * never loads the manifest schemas, nothing but `top` loads ink.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { command: "dev <command>", describe: "a Ployz cluster on this computer", load: async () => (await import("./dev/index.ts")).devCommand, local: true },
  { command: "status", describe: "show the cluster: intent and status from the store, observations asked live", load: async () => (await import("./status.ts")).statusCommand },
  { command: "deploy", describe: "deploy a namespace from a Ployz manifest or a Compose file", load: async () => (await import("./deploy.ts")).deployCommand },
  { command: "ps", describe: "list instances: machine, live state, revision, address", load: async () => (await import("./ps.ts")).psCommand },
  { command: "history", describe: "the commits of a namespace", load: async () => (await import("./history.ts")).historyCommand },
  { command: "rollback", describe: "re-apply an older commit's spec (as a new commit)", load: async () => (await import("./rollback.ts")).rollbackCommand },
  { command: "namespace <command>", describe: "namespaces and what they may use of a machine", load: async () => (await import("./namespace/index.ts")).namespaceCommand },
  { command: "explain <service>", describe: "why each instance of a service is where it is", load: async () => (await import("./explain.ts")).explainCommand },
  { command: "logs <service>", describe: "show a service's logs from every instance on every machine, merged by time", load: async () => (await import("./logs.ts")).logsCommand },
  { command: "exec <target> [command..]", describe: "run a command in an instance (SERVICE or SERVICE#SLOT), on whichever machine runs it", load: async () => (await import("./exec.ts")).execCommand },
  { command: "events", describe: "show what the cluster did: deploy phases, reconcile actions, actor failures, certificate orders, exec sessions", load: async () => (await import("./events.ts")).eventsCommand },
  { command: "routes", describe: "what the gateways serve, their projection's stream sequence and freshness", load: async () => (await import("./routes.ts")).routesCommand },
  { command: "region <command>", describe: "regions and their roles", load: async () => (await import("./region/index.ts")).regionCommand },
  { command: "image <command>", describe: "the cluster's image store", load: async () => (await import("./image/index.ts")).imageCommand },
  { command: "machine <command>", describe: "the cluster's machines", load: async () => (await import("./machine/index.ts")).machineCommand },
  { command: "credentials <command>", describe: "credentials for other people and agents, each with a role", load: async () => (await import("./credentials/index.ts")).credentialsCommand },
  { command: "context <command>", describe: "the clusters and identities this account can use", load: async () => (await import("./context/index.ts")).contextCommand, local: true },
  { command: "top", describe: "a live view of every machine's actors (q quits)", load: async () => (await import("./top.ts")).topCommand },
  { command: "debug <command>", describe: "tools for debugging the actors", load: async () => (await import("./debug/index.ts")).debugCommand },
  { command: "version", describe: "print the version", load: async () => (await import("./version.ts")).versionCommand, local: true },
];

/** A command's name: the first word of its command string. */
export function commandName(entry: CommandEntry): string {
  return entry.command.split(" ")[0]!;
}

/** Global options that take a value: the word after them is not the command. */
const VALUE_OPTIONS = new Set(["--context", "--machine"]);

/**
 * The command the arguments name: the first word that is not an option (or an option's value),
 * or undefined when there is none (`--help`, `--version`) or it names no command (yargs says so).
 * Shell completion (`--get-yargs-completions ployzctl dev …`) names it after the program name.
 */
export function findCommand(args: readonly string[]): CommandEntry | undefined {
  let words = args;
  if (words[0] === "--get-yargs-completions") words = words.slice(2);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") return undefined;
    if (VALUE_OPTIONS.has(word)) {
      i++;
      continue;
    }
    if (word.startsWith("-")) continue;
    return COMMANDS.find((entry) => commandName(entry) === word);
  }
  return undefined;
}
