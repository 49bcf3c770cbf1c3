import { ConversionLog, type Path } from "./compose-conversion.ts";
import { show } from "./manifest-errors.ts";

/**
 * Compose networks: the services of a namespace share one network, so network names are
 * accepted and ignored, and what would make a network different (drivers, addresses, aliases,
 * isolation) is refused at its path.
 */

/** Network names the services may list; each network's attributes checked against the table. */
export function topLevelNetworks(raw: unknown, log: ConversionLog): Set<string> {
  const names = new Set(["default"]);
  for (const [name, def] of Object.entries(log.mapping(raw, ["networks"], "a mapping of networks") ?? {})) {
    const at = ["networks", name];
    names.add(name);
    const network = def === null ? {} : log.mapping(def, at, "a mapping");
    if (!network) continue;
    log.checkSection(network, at, "network");
    if (network.driver !== undefined && network.driver !== "bridge") log.fail([...at, "driver"], `${show(network.driver)}: the services of a namespace share one bridge network; only driver: bridge`);
    if (network.enable_ipv4 === false) log.fail([...at, "enable_ipv4"], "the namespace's network has IPv4; remove enable_ipv4: false");
  }
  return names;
}

/** Network names are accepted (one network per namespace); their per-service options are refused. */
export function serviceNetworks(raw: unknown, service: Path, declared: Set<string>, log: ConversionLog): void {
  const at = [...service, "networks"];
  const check = (name: string, where: Path) => {
    if (!declared.has(name)) log.fail(where, `network ${show(name)} is not declared under top-level networks:`);
  };
  if (Array.isArray(raw)) {
    raw.forEach((name, i) => (typeof name === "string" ? check(name, [...at, i]) : log.fail([...at, i], `expected a network name, got ${show(name)}`)));
    return;
  }
  for (const [name, options] of Object.entries(log.mapping(raw, at, "a list of networks or a mapping") ?? {})) {
    check(name, [...at, name]);
    if (options === null) continue;
    const settings = log.mapping(options, [...at, name], "a mapping");
    if (settings) log.checkKeys(settings, [...at, name], [], Object.fromEntries(Object.keys(settings).map((k) => [k, "the services of a namespace share one network and reach each other by service name"])));
  }
}
