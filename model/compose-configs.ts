import { ConversionLog, type Doc, type Path } from "./compose-conversion.ts";
import type { Lookup } from "./compose-interpolation.ts";
import { show } from "./manifest-errors.ts";

/**
 * Compose configs: a top-level config's content comes from `file:` (beside the Compose file),
 * `content:` or `environment:`, and is copied into the spec; a service mounts it read-only with
 * its target, uid, gid and mode.
 */

/** A top-level config's content and the Compose path it came from. */
export interface DeclaredConfig {
  content: string;
  at: Path;
}

/** Where a config's content can come from besides the file itself. */
export interface ConfigSources {
  lookup: Lookup;
  /** A text file beside the Compose file, or undefined (reported at `at`). */
  readText: (file: string, at: Path) => string | undefined;
}

/** Configs by name; null for one that is declared but broken (already reported). */
export function topLevelConfigs(raw: unknown, log: ConversionLog, sources: ConfigSources): Map<string, DeclaredConfig | null> {
  const out = new Map<string, DeclaredConfig | null>();
  for (const [name, def] of Object.entries(log.mapping(raw, ["configs"], "a mapping of configs") ?? {})) {
    const at = ["configs", name];
    out.set(name, null);
    const config = log.mapping(def, at, "a mapping with file:, content: or environment:");
    if (!config) continue;
    log.checkSection(config, at, "config");
    const given = (["file", "content", "environment"] as const).filter((k) => config[k] !== undefined);
    if (given.length !== 1) {
      log.fail(at, "needs exactly one of file:, content: or environment:");
    } else if (config.content !== undefined) {
      if (typeof config.content !== "string") log.fail([...at, "content"], `expected a string, got ${show(config.content)}`);
      else out.set(name, { content: config.content, at: [...at, "content"] });
    } else if (config.environment !== undefined) {
      const variable = config.environment;
      const content = typeof variable === "string" ? sources.lookup(variable) : undefined;
      if (typeof variable !== "string") log.fail([...at, "environment"], `expected a variable name, got ${show(variable)}`);
      else if (content === undefined) log.fail([...at, "environment"], `variable ${variable} is not set: set it in your environment or in .env beside the Compose file`);
      else out.set(name, { content, at: [...at, "environment"] });
    } else if (typeof config.file !== "string") {
      log.fail([...at, "file"], `expected a path, got ${show(config.file)}`);
    } else {
      const content = sources.readText(config.file, [...at, "file"]);
      if (content !== undefined) out.set(name, { content, at: [...at, "file"] });
    }
  }
  return out;
}

export function serviceConfigs(raw: unknown, service: Path, declared: Map<string, DeclaredConfig | null>, log: ConversionLog): Doc[] {
  return log.list(raw, [...service, "configs"]).flatMap((item, i) => {
    const at = [...service, "configs", i];
    const long: Doc | undefined = typeof item === "string" ? { source: item } : log.mapping(item, at, "a config name or a mapping");
    if (!long) return [];
    if (typeof item !== "string") log.checkKeys(long, at, ["source", "target", "uid", "gid", "mode"]);
    const sourceAt = typeof item === "string" ? at : [...at, "source"];
    if (typeof long.source !== "string") return log.fail(sourceAt, long.source === undefined ? "is required" : `expected a config name, got ${show(long.source)}`) ?? [];
    const config = declared.get(long.source);
    if (config === undefined) return log.fail(sourceAt, `config "${long.source}" is not declared under top-level configs:`) ?? [];
    if (config === null) return [];
    const mode = long.mode === undefined ? undefined : log.fileMode(long.mode, [...at, "mode"]);
    const uid = log.numericId(long.uid, [...at, "uid"]);
    const gid = log.numericId(long.gid, [...at, "gid"]);
    log.from([...service, "configs", i], at, typeof item === "string");
    log.from([...service, "configs", i, "content"], config.at);
    return [{ target: long.target ?? `/${long.source}`, content: config.content, ...(mode === undefined ? {} : { mode }), ...(uid === undefined ? {} : { uid }), ...(gid === undefined ? {} : { gid }) }];
  });
}
