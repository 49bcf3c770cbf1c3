import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, DaemonNotRunningError } from "../model/errors.ts";
import { nameSchema } from "../model/names.ts";
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
  })
  .strict();
export type Context = z.infer<typeof contextSchema>;

const HINT = "run `ployzctl dev up` to write a fresh one, or fix the file";

export function contextPaths(env: NodeJS.ProcessEnv) {
  const dir = configDir(env);
  return { dir, current: join(dir, "current"), file: (name: string) => join(dir, "contexts", `${name}.json`) };
}

/** Writes a context and makes it the current one. */
export function writeContext(context: Context, env: NodeJS.ProcessEnv): string {
  const paths = contextPaths(env);
  const file = paths.file(context.name);
  writeFileAtomic(file, `${JSON.stringify(contextSchema.parse(context), null, 2)}\n`, 0o600);
  writeFileAtomic(paths.current, `${context.name}\n`, 0o600);
  return file;
}

/** The named context, or the current one ($PLOYZ_CONTEXT, else the `current` file). */
export function readContext(env: NodeJS.ProcessEnv, name?: string): Context {
  const paths = contextPaths(env);
  const chosen = name ?? env.PLOYZ_CONTEXT ?? readCurrentName(paths.current);
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
