import { ConversionLog, type Doc, type Path } from "./compose-conversion.ts";
import { ULIMIT_NAMES } from "./manifest-container.ts";
import { show } from "./manifest-errors.ts";

/**
 * The Compose attributes that shape one container — user, working_dir, stop_signal,
 * stop_grace_period, cap_add, cap_drop, read_only, init, ulimits, and tmpfs mounts —
 * as Ployz service fields. Types the manifest checks itself (a duration, a capability name) are
 * passed through and reported at their Compose path from there.
 */
export function containerFields(service: Doc, at: Path, log: ConversionLog): Doc {
  const out: Doc = {};
  const pass = (compose: string, ployz: string, value: unknown = service[compose]) => {
    if (service[compose] === undefined) return;
    out[ployz] = value;
    log.from([...at, ployz], [...at, compose]);
  };
  pass("user", "user", typeof service.user === "number" ? String(service.user) : service.user);
  pass("working_dir", "workingDir");
  pass("stop_signal", "stopSignal");
  pass("stop_grace_period", "stopGracePeriod");
  pass("cap_add", "capAdd");
  pass("cap_drop", "capDrop");
  pass("read_only", "readOnly");
  if (service.init !== undefined && service.init !== true) {
    log.fail([...at, "init"], service.init === false ? "Ployz always runs an init as PID 1, so that stops are graceful; remove init: false" : `expected true, got ${show(service.init)}`);
  }
  if (service.ulimits !== undefined) {
    const ulimits = ulimitEntries(service.ulimits, [...at, "ulimits"], log);
    if (ulimits) out.ulimits = ulimits;
    log.from([...at, "ulimits"], [...at, "ulimits"]);
  }
  return out;
}

/** `/run`, `/run:size=64m,mode=1777` → a tmpfs mount; Docker's other options are refused. */
export function tmpfsEntry(entry: string, at: Path, log: ConversionLog): Doc | undefined {
  const colon = entry.indexOf(":");
  const target = colon < 0 ? entry : entry.slice(0, colon);
  const out: Doc = { target };
  if (colon < 0) return out;
  for (const option of entry.slice(colon + 1).split(",")) {
    const [name, value] = option.split("=", 2) as [string, string | undefined];
    if (name === "size" && value) out.size = value;
    else if (name === "mode" && value && /^[0-7]{1,4}$/.test(value)) out.mode = Number.parseInt(value, 8);
    else return log.fail(at, `${show(entry)}: option ${show(option)} is not supported; write PATH, PATH:size=64m or PATH:size=64m,mode=1777`);
  }
  return out;
}

/** A long-syntax volume of type tmpfs: target, and tmpfs.size / tmpfs.mode. */
export function tmpfsVolume(long: Doc, at: Path, log: ConversionLog): Doc | undefined {
  log.checkKeys(long, at, ["type", "target", "tmpfs"], { source: "a tmpfs has no source", read_only: "a read-only tmpfs stays empty" });
  const options = log.mapping(long.tmpfs, [...at, "tmpfs"], "a mapping with size: and mode:") ?? {};
  log.checkKeys(options, [...at, "tmpfs"], ["size", "mode"]);
  const out: Doc = { target: long.target };
  if (options.size !== undefined) out.size = typeof options.size === "number" ? options.size : options.size;
  if (options.mode !== undefined) out.mode = log.fileMode(options.mode, [...at, "tmpfs", "mode"]);
  return out;
}

/** `nofile: 65535` or `nofile: { soft: 1024, hard: 65535 }`, numbers or numeric strings. */
function ulimitEntries(raw: unknown, at: Path, log: ConversionLog): Doc | undefined {
  const limits = log.mapping(raw, at, "a mapping of limits");
  if (!limits) return undefined;
  const out: Doc = {};
  for (const [name, value] of Object.entries(limits)) {
    const where = [...at, name];
    if (!(ULIMIT_NAMES as readonly string[]).includes(name)) {
      log.fail(where, `${show(name)} is not a limit Docker knows (${ULIMIT_NAMES.join(", ")})`);
      continue;
    }
    const number = (v: unknown, p: Path) => {
      if (typeof v === "number") return v;
      if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v);
      return log.fail(p, `expected a number, got ${show(v)}`);
    };
    if (typeof value === "number" || typeof value === "string") {
      const n = number(value, where);
      if (n !== undefined) out[name] = { soft: n, hard: n };
      continue;
    }
    const pair = log.mapping(value, where, "a number or a mapping with soft: and hard:");
    if (!pair) continue;
    log.checkKeys(pair, where, ["soft", "hard"]);
    const soft = number(pair.soft, [...where, "soft"]);
    const hard = number(pair.hard, [...where, "hard"]);
    if (soft !== undefined && hard !== undefined) out[name] = { soft, hard };
  }
  return out;
}
