import { ConversionLog, type Doc, type Path } from "./compose-conversion.ts";
import { show } from "./manifest-errors.ts";

/** Compose's `deploy:` as Ployz's mode, replicas, resources and placement. */

/** Memory in Docker's units (`512m`, `1g`, `1.5GiB`, all powers of 1024), as bytes. */
export function parseComposeBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(value.trim());
  if (!match) return undefined;
  const power = match[2] ? "kmgtp".indexOf(match[2].toLowerCase()) + 1 : 0;
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** mode, replicas, resources and placement; a reservation is what Ployz schedules by, so it wins over a limit. */
export function deployFields(raw: unknown, service: Path, scale: unknown, log: ConversionLog): Doc {
  const at = [...service, "deploy"];
  const deploy = raw === null ? {} : log.mapping(raw, at, "a mapping");
  if (!deploy) return {};
  log.checkSection(deploy, at, "deploy");
  const out: Doc = {};
  if (deploy.mode !== undefined) {
    out.mode = deploy.mode;
    log.from([...service, "mode"], [...at, "mode"]);
  }
  if (deploy.replicas !== undefined) {
    if (scale !== undefined && scale !== deploy.replicas) log.fail([...at, "replicas"], `is ${show(deploy.replicas)} but scale: is ${show(scale)}; write one of them`);
    out.replicas = deploy.replicas;
    log.from([...service, "replicas"], [...at, "replicas"]);
  }
  if (deploy.placement !== undefined) out.placement = placement(deploy.placement, [...at, "placement"], service, log);
  const resources = log.mapping(deploy.resources, [...at, "resources"], "a mapping");
  if (!resources) return out;
  log.checkKeys(resources, [...at, "resources"], ["limits", "reservations"]);
  const levels = (["reservations", "limits"] as const).flatMap((level) => {
    const value = log.mapping(resources[level], [...at, "resources", level], "a mapping");
    if (value) log.checkKeys(value, [...at, "resources", level], ["cpus", "memory"]);
    return value ? [{ level, value }] : [];
  });
  const chosen: Doc = {};
  for (const [key, field] of [["cpus", "cpu"], ["memory", "memory"]] as const) {
    const found = levels.find(({ value }) => value[key] !== undefined);
    if (!found) continue;
    const where = [...at, "resources", found.level, key];
    log.from([...service, "resources", field], where);
    const value = found.value[key];
    if (key === "cpus") chosen.cpu = value;
    else if (typeof value !== "string" && typeof value !== "number") log.fail(where, `expected a size like 512m, got ${show(value)}`);
    else chosen.memory = parseComposeBytes(value) ?? log.fail(where, `${show(value)} is not a size like 512m, 1g or 1073741824`);
  }
  out.resources = chosen;
  return out;
}

/** `constraints: ["node.labels.region == eu"]` → placement regions and zones. */
function placement(raw: unknown, at: Path, service: Path, log: ConversionLog): Doc {
  const placement = log.mapping(raw, at, "a mapping");
  if (!placement) return {};
  log.checkKeys(placement, at, ["constraints"], {
    preferences: "Ployz spreads replicas over zones, then machines, by itself",
    max_replicas_per_node: "Ployz spreads replicas over machines by itself",
  });
  const out: Record<"regions" | "zones", string[]> = { regions: [], zones: [] };
  log.list(placement.constraints, [...at, "constraints"]).forEach((item, i) => {
    const where = [...at, "constraints", i];
    const match = typeof item === "string" ? /^\s*node\.labels\.(region|zone)\s*(==|!=)\s*(\S+)\s*$/.exec(item) : null;
    if (!match) return log.fail(where, `${show(item)}: Ployz places by node.labels.region == REGION and node.labels.zone == ZONE only`);
    const [, label, operator, value] = match as unknown as [string, "region" | "zone", string, string];
    if (operator === "!=") return log.fail(where, `${show(item)}: Ployz cannot exclude a ${label}; list the ${label} it may use with ==`);
    const list = label === "region" ? out.regions : out.zones;
    if (list.length > 0 && !list.includes(value)) return log.fail(where, `${show(item)}: a machine is in one ${label}, and another constraint already asks for ${list[0]}`);
    if (list.length === 0) {
      log.from([...service, "placement", label === "region" ? "regions" : "zones", 0], where, true);
      list.push(value);
    }
  });
  return { ...(out.regions.length > 0 ? { regions: out.regions } : {}), ...(out.zones.length > 0 ? { zones: out.zones } : {}) };
}
