import { ConversionLog, type Path } from "./compose-conversion.ts";
import type { Lookup } from "./compose-interpolation.ts";
import { EnvFileError, parseEnvFile } from "./dotenv.ts";
import { show } from "./manifest-errors.ts";

/**
 * A service's `env_file:` — a path, a list of paths, or `{ path, required, format }` entries —
 * read beside the Compose file at deploy time. Later files win over earlier ones, and the
 * service's `environment:` wins over all of them, as in Compose. The variables end up in the
 * spec's env like any other, so they are part of the commit.
 */
export function envFromFiles(
  raw: unknown,
  service: Path,
  log: ConversionLog,
  options: { lookup: Lookup; readText: (file: string, at: Path, optional: boolean) => string | undefined },
): { vars: Record<string, string>; origins: Record<string, Path> } {
  const at = [...service, "env_file"];
  const entries = typeof raw === "string" ? [{ item: raw as unknown, where: at }] : log.list(raw, at).map((item, i) => ({ item, where: [...at, i] }));
  const vars: Record<string, string> = {};
  const origins: Record<string, Path> = {};
  for (const { item, where } of entries) {
    let file: unknown = item;
    let required = true;
    const long = typeof item === "object" && item !== null && !Array.isArray(item);
    if (long) {
      const entry = item as Record<string, unknown>;
      log.checkKeys(entry, where, ["path", "required", "format"]);
      file = entry.path;
      if (entry.required !== undefined && typeof entry.required !== "boolean") log.fail([...where, "required"], `expected true or false, got ${show(entry.required)}`);
      required = entry.required !== false;
      if (entry.format !== undefined) log.fail([...where, "format"], `Ployz reads env files only in Compose's own format; remove format: ${show(entry.format)}`);
    }
    const fileAt = long ? [...where, "path"] : where;
    if (typeof file !== "string") {
      log.fail(fileAt, `expected a path, got ${show(file)}`);
      continue;
    }
    const text = options.readText(file, fileAt, !required);
    if (text === undefined) continue;
    try {
      for (const [key, value] of Object.entries(parseEnvFile(text, options.lookup))) {
        vars[key] = value;
        origins[key] = fileAt;
      }
    } catch (error) {
      if (!(error instanceof EnvFileError)) throw error;
      log.fail(fileAt, `${show(file)}: ${error.message}`);
    }
  }
  return { vars, origins };
}
