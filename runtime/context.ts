import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, DaemonNotRunningError } from "../model/errors.ts";
import { credentialFileSchema, localOperatorName } from "../model/credentials.ts";
import { nameSchema } from "../model/names.ts";
import { CREDENTIAL_ROLES, type CredentialRole } from "../model/roles.ts";
import { readJsonFile, writeFileAtomic } from "./files.ts";
import { configDir } from "./paths.ts";

/** How the CLI reaches a cluster: `$XDG_CONFIG_HOME/ployz/contexts/<name>.json`. */
export const contextSchema = z
  .object({
    name: nameSchema("context name"),
    servers: z.array(z.string().regex(/^nats:\/\//, "must be a nats:// URL")).min(1),
    seedFile: z.string().min(1),
    machineId: z.string(),
    dataDir: z.string().optional(),
    /**
     * The network namespace (under /run/netns) the machine's NATS listens in: a lab machine's. The
     * CLI runs itself inside it (`nsenter --net`, root only) to use this context.
     */
    netns: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a network namespace name").optional(),
    /** Who this context is: a credential's name and role; absent for a machine's local operator (`dev up`). */
    identity: z.strictObject({ name: z.string().min(1), role: z.enum(CREDENTIAL_ROLES) }).optional(),
  })
  .strict();
export type Context = z.infer<typeof contextSchema>;

/** The identity a context connects as: its credential, or the machine's local operator. */
export function contextIdentity(context: Context): { name: string; role: CredentialRole } {
  return context.identity ?? { name: localOperatorName(context.machineId), role: "operator" };
}

const HINT = "run `ployzctl dev up` to write a fresh one, or fix the file";

export function contextPaths(env: NodeJS.ProcessEnv) {
  const dir = configDir(env);
  return { dir, current: join(dir, "current"), file: (name: string) => join(dir, "contexts", `${name}.json`) };
}

/** Writes a context and (unless `makeCurrent: false`) makes it the current one. */
export function writeContext(context: Context, env: NodeJS.ProcessEnv, options: { makeCurrent?: boolean } = {}): string {
  const paths = contextPaths(env);
  const file = paths.file(context.name);
  writeFileAtomic(file, `${JSON.stringify(contextSchema.parse(context), null, 2)}\n`, 0o600);
  if (options.makeCurrent ?? true) writeFileAtomic(paths.current, `${context.name}\n`, 0o600);
  return file;
}

/**
 * A context from a credentials file (`ployzctl credentials create` printed it): the private key
 * goes to `contexts/<name>.nk` (0600) beside the context. A file others may read is refused, as
 * ssh refuses such a key: its key may already have leaked. An existing context is not replaced.
 */
export function importCredentials(path: string, env: NodeJS.ProcessEnv, as?: string): { context: Context; file: string } {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode & 0o777;
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { hint: "give the file `ployzctl credentials create` wrote", cause: error });
  }
  if (mode & 0o077) {
    throw new ConfigError(`${path} holds a private key and others may read it (mode ${mode.toString(8).padStart(4, "0")})`, { hint: `chmod 600 ${path}, and ask for a new credential if others could have read it` });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not JSON: ${(error as Error).message}`, { hint: "give the file `ployzctl credentials create` wrote", cause: error });
  }
  const parsed = credentialFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${path} is not a Ployz credentials file: ${issue.path.join(".") || "(top level)"}: ${issue.message}`, { hint: "give the file `ployzctl credentials create` wrote" });
  }
  const credentials = parsed.data;
  const name = as ?? credentials.name;
  if (!nameSchema("context name").safeParse(name).success) throw new ConfigError(`context name "${name}" is invalid`, { hint: "use --name with 1–63 lowercase letters, digits or inner dashes" });
  const paths = contextPaths(env);
  if (existsSync(paths.file(name))) throw new ConfigError(`context ${name} already exists (${paths.file(name)})`, { hint: "import it under another name with --name" });
  const seedFile = join(paths.dir, "contexts", `${name}.nk`);
  writeFileAtomic(seedFile, `${credentials.seed}\n`, 0o600);
  const context: Context = { name, servers: credentials.servers, seedFile, machineId: credentials.machineId, identity: { name: credentials.name, role: credentials.role } };
  return { context, file: writeContext(context, env, { makeCurrent: false }) };
}

/** The name of the context a command would use: `name`, else $PLOYZ_CONTEXT, else the `current` file; undefined when none is chosen. */
export function chosenContextName(env: NodeJS.ProcessEnv, name?: string): string | undefined {
  return name ?? env.PLOYZ_CONTEXT ?? readCurrentName(contextPaths(env).current);
}

/** The chosen context (see chosenContextName), or undefined when none is chosen or its file does not exist. */
export function findContext(env: NodeJS.ProcessEnv, name?: string): Context | undefined {
  const chosen = chosenContextName(env, name);
  if (chosen === undefined || !existsSync(contextPaths(env).file(chosen))) return undefined;
  return readContext(env, chosen);
}

/** Every context of this account, by name order (a file that does not parse is an error naming it). */
export function listContexts(env: NodeJS.ProcessEnv): Context[] {
  const dir = join(contextPaths(env).dir, "contexts");
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return files.filter((f) => f.endsWith(".json")).sort().map((f) => readContext(env, f.slice(0, -".json".length)));
}

/** Removes a context (and, when it was the current one, the `current` file). */
export function removeContext(env: NodeJS.ProcessEnv, name: string): void {
  const paths = contextPaths(env);
  rmSync(paths.file(name), { force: true });
  if (readCurrentName(paths.current) === name) rmSync(paths.current, { force: true });
}

/** The named context, or the current one ($PLOYZ_CONTEXT, else the `current` file). */
export function readContext(env: NodeJS.ProcessEnv, name?: string): Context {
  const paths = contextPaths(env);
  const chosen = chosenContextName(env, name);
  if (!chosen) {
    throw new DaemonNotRunningError(`no Ployz context in ${paths.dir}: no cluster has been set up from this account`, {
      hint: "start one with `ployzctl dev up`",
    });
  }
  if (!nameSchema("context name").safeParse(chosen).success) {
    throw new ConfigError(`context name "${chosen}" is invalid (from ${name ? "--context" : env.PLOYZ_CONTEXT ? "PLOYZ_CONTEXT" : paths.current})`, { hint: HINT });
  }
  const context = readJsonFile(paths.file(chosen), contextSchema, "context", HINT);
  if (!context) {
    throw new DaemonNotRunningError(`context "${chosen}" does not exist (${paths.file(chosen)})`, { hint: "start a cluster with `ployzctl dev up`" });
  }
  return context;
}

/** The name in the `current` file; none when there is no such file, a ConfigError when it cannot be read. */
function readCurrentName(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, { hint: HINT, cause: error });
  }
}
