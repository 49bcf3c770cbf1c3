import { posix } from "node:path";
import { tmpfsEntry, tmpfsVolume } from "./compose-container.ts";
import { ConversionLog, isRecord, type Doc, type Path } from "./compose-conversion.ts";
import { show } from "./manifest-errors.ts";
import { isValidName } from "./names.ts";

/**
 * Compose volumes: the top-level ones (name, driver: local, external) as the namespace's, and a
 * service's `volumes:` (short and long syntax) as named volumes, binds beside the Compose file,
 * and tmpfs mounts.
 */

/** A top-level volume: the Ployz volume a service mount of its key refers to. */
export interface DeclaredVolume {
  name: string;
}

/** A tmpfs mount and the Compose path it came from (`opaque` for a short-syntax string). */
export interface TmpfsFrom {
  mount: Doc;
  at: Path;
  opaque: boolean;
}

/** Top-level volumes as the namespace's, and which Ployz volume each key refers to. */
export function topLevelVolumes(raw: unknown, log: ConversionLog): { volumes: Record<string, { external?: boolean; name?: string }>; declared: Map<string, DeclaredVolume> } {
  const volumes: Record<string, { external?: boolean; name?: string }> = {};
  const declared = new Map<string, DeclaredVolume>();
  for (const [key, def] of Object.entries(log.mapping(raw, ["volumes"], "a mapping of volumes") ?? {})) {
    const at = ["volumes", key];
    const volume = def === null ? {} : log.mapping(def, at, "a mapping");
    if (!volume) continue;
    log.checkSection(volume, at, "volume");
    if (volume.driver !== undefined && volume.driver !== "local") log.fail([...at, "driver"], `${show(volume.driver)}: only the local driver (the default); Ployz manages where volumes live`);
    let external = volume.external;
    let name = volume.name;
    if (isRecord(external)) {
      // The deprecated `external: { name: X }` is `external: true` with `name: X`.
      log.checkKeys(external, [...at, "external"], ["name"]);
      if (name !== undefined && external.name !== undefined) log.fail([...at, "external", "name"], "give the name once: name: beside external: true");
      name ??= external.name;
      external = true;
    }
    if (external !== undefined && typeof external !== "boolean") log.fail([...at, "external"], `expected true or false, got ${show(external)}`);
    if (name !== undefined && typeof name !== "string") {
      log.fail([...at, "name"], `expected a string, got ${show(name)}`);
      continue;
    }
    if (external === true) {
      declared.set(key, { name: key });
      volumes[key] = { external: true, ...(name === undefined ? {} : { name }) };
      log.from(["volumes", key], at);
      continue;
    }
    // A managed volume's name is its name in the namespace; the key only refers to it in this file.
    const ployzName = name ?? key;
    if (name !== undefined && !isValidName(name)) {
      const suggestion = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "data";
      log.fail([...at, "name"], `${show(name)}: a Ployz volume name is 1–63 lowercase letters, digits or inner dashes; write one like "${suggestion}", or add external: true to mount the existing Docker volume ${show(name)}`);
      continue;
    }
    declared.set(key, { name: ployzName });
    volumes[ployzName] = {};
    log.from(["volumes", ployzName], name === undefined ? at : [...at, "name"]);
  }
  return { volumes, declared };
}

/** `tmpfs:` entries, with where each came from. */
export function serviceTmpfs(raw: unknown, service: Path, log: ConversionLog): TmpfsFrom[] {
  const at = [...service, "tmpfs"];
  const single = typeof raw === "string";
  return log.stringOrList(raw, at).flatMap((entry, i) => {
    const where = single ? at : [...at, i];
    const mount = tmpfsEntry(entry, where, log);
    return mount ? [{ mount, at: where, opaque: true }] : [];
  });
}

/** Named volumes and binds go to `volumes`, long-syntax tmpfs volumes to `tmpfs`. */
export function serviceVolumes(raw: unknown, service: Path, declared: Map<string, DeclaredVolume>, baseDir: string, log: ConversionLog): { volumes: Doc[]; tmpfs: TmpfsFrom[] } {
  const volumes: Doc[] = [];
  const tmpfs: TmpfsFrom[] = [];
  const ployzName = (source: string) => declared.get(source)?.name ?? source;
  log.list(raw, [...service, "volumes"]).forEach((item, i) => {
    const at = [...service, "volumes", i];
    const ployzAt = [...service, "volumes", volumes.length];
    if (typeof item === "string") {
      const [source = "", target, options, ...extra] = item.split(":");
      if (target === undefined) return log.fail(at, `${show(item)}: anonymous volumes are not supported; write NAME:${item} and declare NAME under top-level volumes:`);
      const flags = options === undefined ? [] : options.split(",");
      const bad = flags.find((flag) => flag !== "ro" && flag !== "rw");
      if (extra.length > 0 || bad !== undefined) return log.fail(at, `${show(item)}: expected SOURCE:TARGET[:ro|rw]${bad ? `; option "${bad}" is not supported` : ""}`);
      const isBind = /^[./~]/.test(source);
      const mount = mountOf(isBind ? "bind" : "volume", isBind ? source : ployzName(source), target, flags.includes("ro"), at, baseDir, log);
      log.from(ployzAt, at, true);
      if (mount) volumes.push(mount);
      return;
    }
    const long = log.mapping(item, at, "a volume");
    if (!long) return;
    if (long.type === "tmpfs") {
      const mount = tmpfsVolume(long, at, log);
      if (mount) tmpfs.push({ mount, at, opaque: false });
      return;
    }
    log.checkKeys(long, at, ["type", "source", "target", "read_only"]);
    if (long.type !== "volume" && long.type !== "bind") return log.fail([...at, "type"], `must be "volume", "bind" or "tmpfs", not ${show(long.type)}`);
    if (typeof long.source !== "string") return log.fail([...at, "source"], long.source === undefined ? "is required: Ployz has no anonymous volumes" : `expected a string, got ${show(long.source)}`);
    log.from(ployzAt, at);
    log.from([...ployzAt, "readOnly"], [...at, "read_only"]);
    const mount = mountOf(long.type, long.type === "volume" ? ployzName(long.source) : long.source, long.target, long.read_only, [...at, "source"], baseDir, log);
    if (mount) volumes.push(mount);
  });
  return { volumes, tmpfs };
}

/** A bind source resolves against the Compose file's directory, as Compose does. */
function mountOf(type: "volume" | "bind", source: string, target: unknown, readOnly: unknown, at: Path, baseDir: string, log: ConversionLog): Doc | undefined {
  if (type === "volume") return { type, source, target, ...(readOnly === undefined ? {} : { readOnly }) };
  if (source.startsWith("~")) return log.fail(at, `${show(source)}: write the path without ~ (the container may run on another machine, with another home)`);
  const path = posix.isAbsolute(source) ? posix.normalize(source) : posix.join(baseDir, source);
  return { type, source: path, target, ...(readOnly === undefined ? {} : { readOnly }) };
}
