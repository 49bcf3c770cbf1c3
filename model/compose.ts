import { posix } from "node:path";
import { containerFields, tmpfsEntry, tmpfsVolume } from "./compose-container.ts";
import { ConversionLog, isRecord, type Doc, type Path } from "./compose-conversion.ts";
import { envFromFiles } from "./compose-env-file.ts";
import { interpolate, InterpolationError, type Lookup } from "./compose-interpolation.ts";
import { parsePortNumber, parseShortPort } from "./compose-ports.ts";
import { SecretSources, serviceSecrets } from "./compose-secrets.ts";
import { NotFoundError } from "./errors.ts";
import { namespaceSpecSchema, type NamespaceSpec, type NamespaceSpecInput } from "./manifest.ts";
import { issuesFromZod, manifestError, show } from "./manifest-errors.ts";
import { isValidName } from "./names.ts";
import type { SecretValue } from "./service-secrets.ts";
import { splitShellWords } from "./shell-words.ts";

/**
 * Compose files as Ployz namespace specs. Every attribute of the Compose Specification is
 * classified in `compose-coverage.ts`: supported ones map onto the spec, ignored ones are
 * accepted on purpose, and refused ones are errors naming their path and saying why — a Compose
 * file never deploys with part of it quietly dropped. `x-` extensions exist to be ignored.
 * Variables are interpolated first, as Compose does (`compose-interpolation.ts`).
 */

/** What converting needs besides the document. */
export interface ComposeOptions {
  /** Named in messages, as the operator wrote it. */
  fileName: string;
  /** The absolute directory of the Compose file: relative paths resolve from it. */
  baseDir: string;
  /** `-n`: wins over the file's top-level `name`. */
  namespace?: string;
  /**
   * A file beside the Compose file (config, secret, env_file), by absolute path, already checked
   * to be inside baseDir; throws to refuse, NotFoundError when it does not exist.
   */
  readFile?: (path: string) => Uint8Array | string;
  /** Variables for interpolation: the operator's environment over the `.env` beside the file. */
  environment?: Record<string, string | undefined>;
  /** Profiles to deploy besides the services without one (`--profile`, COMPOSE_PROFILES); `*` is all. */
  profiles?: readonly string[];
  /** The cluster's key for secret versions (from its secret store); needed when a service uses a secret. */
  secretKey?: Uint8Array;
}

/** A converted Compose file: the spec, and the secret values to store before deploying it. */
export interface ComposeResult {
  spec: NamespaceSpec;
  secrets: SecretValue[];
}

/** A top-level config's content and the Compose path it came from. */
interface DeclaredConfig {
  content: string;
  at: Path;
}

/** A top-level volume: the Ployz volume a service mount of its key refers to. */
interface DeclaredVolume {
  name: string;
}

const COMPOSE_FILE_NAME = /^(docker-)?compose\.ya?ml$/;
/** Docker's defaults when a healthcheck leaves them out; Ployz's own are much shorter. */
const HEALTHCHECK_DEFAULTS = { interval: 30_000, timeout: 30_000, retries: 3, start_period: 0 };

/** True when `doc` should be read as Compose: named like one, or `services:` without `namespace:`. */
export function isComposeDocument(doc: unknown, fileName: string): boolean {
  if (COMPOSE_FILE_NAME.test(posix.basename(fileName.replaceAll("\\", "/")))) return true;
  return isRecord(doc) && "services" in doc && !("namespace" in doc);
}

/** Normalized absolute path of a file beside the Compose file, or undefined when it would escape baseDir. */
export function composeFilePath(baseDir: string, file: string): string | undefined {
  const path = posix.normalize(posix.isAbsolute(file) ? file : posix.join(baseDir, file));
  const root = baseDir.endsWith("/") ? baseDir : `${baseDir}/`;
  return path.startsWith(root) ? path : undefined;
}

/** The profiles COMPOSE_PROFILES names (comma-separated), as Compose reads it. */
export function profilesFromEnvironment(value: string | undefined): string[] {
  return (value ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/** Converts a parsed Compose document, or throws a ManifestError with every problem at its Compose path. */
export function composeToSpec(doc: unknown, options: ComposeOptions): ComposeResult {
  const conversion = new Conversion(options);
  const input = conversion.namespace(doc);
  const hint = COMPOSE_FILE_NAME.test(posix.basename(options.fileName))
    ? undefined
    : "read as a Compose file because it has services: and no namespace:; add namespace: to write a Ployz manifest";
  const { log } = conversion;
  if (log.issues.length > 0 || !input) throw manifestError(options.fileName, log.issues, hint ? { hint } : {});
  const parsed = namespaceSpecSchema.safeParse(input);
  if (parsed.success) return { spec: withGatewayRoutes(parsed.data), secrets: conversion.secretValues() };
  // One Compose value can feed two Ployz fields (a healthcheck's interval: readiness and healthcheck): report it once.
  const seen = new Set<string>();
  const issues = issuesFromZod(parsed.error.issues, input)
    .map((issue) => ({ ...issue, path: log.composePathOf(issue.path) }))
    .filter((issue) => !seen.has(JSON.stringify(issue)) && seen.add(JSON.stringify(issue)));
  throw manifestError(options.fileName, issues, { cause: parsed.error, ...(hint ? { hint } : {}) });
}

/**
 * Compose has no hostnames: a service that publishes a port is also reachable through the gateway
 * as `<service>.<namespace>.localhost` (which resolves to loopback), on its first published port.
 */
function withGatewayRoutes(spec: NamespaceSpec): NamespaceSpec {
  const services = Object.fromEntries(
    Object.entries(spec.services).map(([name, service]) => {
      const published = service.ports.find((p) => p.published !== undefined && p.protocol === "tcp");
      if (!published || service.routes.length > 0) return [name, service];
      return [name, { ...service, routes: [{ hostnames: [`${name}.${spec.namespace}.localhost`], pathPrefix: "/", port: published.container, tls: "none" as const }] }];
    }),
  );
  return { ...spec, services };
}

/** Memory in Docker's units (`512m`, `1g`, `1.5GiB`, all powers of 1024), as bytes. */
export function parseComposeBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(value.trim());
  if (!match) return undefined;
  const power = match[2] ? "kmgtp".indexOf(match[2].toLowerCase()) + 1 : 0;
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** One conversion: collects every problem, and remembers which Compose path each Ployz field came from. */
class Conversion {
  readonly log = new ConversionLog();
  private readonly lookup: Lookup;
  private secrets: SecretSources | undefined;

  constructor(private readonly options: ComposeOptions) {
    const environment = options.environment ?? {};
    this.lookup = (name) => (Object.hasOwn(environment, name) ? environment[name] : undefined);
  }

  secretValues(): SecretValue[] {
    return this.secrets?.values() ?? [];
  }

  namespace(raw: unknown): NamespaceSpecInput | undefined {
    const log = this.log;
    if (!isRecord(raw)) return log.fail([], `a Compose file must be a mapping with services:, not ${show(raw)}`);
    const doc = this.interpolateAll(raw, []) as Doc;
    log.checkSection(doc, [], "file");
    let namespace: unknown = doc.name;
    if (this.options.namespace !== undefined) {
      namespace = this.options.namespace;
      log.from(["namespace"], ["-n"]);
    } else if (doc.name !== undefined) {
      log.from(["namespace"], ["name"]);
    } else {
      log.fail([], "has no name: pass -n NAMESPACE, or set a top-level name:");
    }
    const { volumes, declared } = this.topLevelVolumes(doc.volumes);
    const configs = this.topLevelConfigs(doc.configs);
    this.secrets = new SecretSources(log.mapping(doc.secrets, ["secrets"], "a mapping of secrets") ?? {}, log, {
      namespace: String(namespace ?? ""),
      lookup: this.lookup,
      readBytes: (file, at) => this.readSideFile(file, at, "bytes"),
      ...(this.options.secretKey ? { key: this.options.secretKey } : {}),
    });
    const networks = this.topLevelNetworks(doc.networks);
    const rawServices = log.mapping(doc.services, ["services"], "a mapping of services") ?? {};
    const enabled = this.enabledServices(rawServices);
    const services: Doc = {};
    for (const [name, service] of Object.entries(rawServices)) {
      if (enabled.has(name)) services[name] = this.service(name, service, { configs, declared, networks, enabled, all: rawServices });
    }
    if (Object.keys(rawServices).length > 0 && enabled.size === 0) {
      log.fail(["services"], "every service is in a profile and none is active: pass --profile NAME (or set COMPOSE_PROFILES)");
    }
    return { namespace: namespace as string, services: services as NamespaceSpecInput["services"], volumes };
  }

  /** Services without profiles, and those in an active profile. */
  private enabledServices(services: Doc): Set<string> {
    const active = this.options.profiles ?? [];
    const enabled = new Set<string>();
    for (const [name, service] of Object.entries(services)) {
      if (!isRecord(service) || service.profiles === undefined) {
        enabled.add(name);
        continue;
      }
      const profiles = this.log.list(service.profiles, ["services", name, "profiles"]).filter((p, i) => typeof p === "string" || this.log.fail(["services", name, "profiles", i], `expected a profile name, got ${show(p)}`));
      if (profiles.length === 0 || active.includes("*") || profiles.some((p) => active.includes(p as string))) enabled.add(name);
    }
    return enabled;
  }

  private topLevelVolumes(raw: unknown): { volumes: Record<string, { external?: boolean; name?: string }>; declared: Map<string, DeclaredVolume> } {
    const volumes: Record<string, { external?: boolean; name?: string }> = {};
    const declared = new Map<string, DeclaredVolume>();
    for (const [key, def] of Object.entries(this.log.mapping(raw, ["volumes"], "a mapping of volumes") ?? {})) {
      const at = ["volumes", key];
      const volume = def === null ? {} : this.log.mapping(def, at, "a mapping");
      if (!volume) continue;
      this.log.checkSection(volume, at, "volume");
      if (volume.driver !== undefined && volume.driver !== "local") this.log.fail([...at, "driver"], `${show(volume.driver)}: only the local driver (the default); Ployz manages where volumes live`);
      let external = volume.external;
      let name = volume.name;
      if (isRecord(external)) {
        // The deprecated `external: { name: X }` is `external: true` with `name: X`.
        this.log.checkKeys(external, [...at, "external"], ["name"]);
        if (name !== undefined && external.name !== undefined) this.log.fail([...at, "external", "name"], "give the name once: name: beside external: true");
        name ??= external.name;
        external = true;
      }
      if (external !== undefined && typeof external !== "boolean") this.log.fail([...at, "external"], `expected true or false, got ${show(external)}`);
      if (name !== undefined && typeof name !== "string") {
        this.log.fail([...at, "name"], `expected a string, got ${show(name)}`);
        continue;
      }
      if (external === true) {
        declared.set(key, { name: key });
        volumes[key] = { external: true, ...(name === undefined ? {} : { name }) };
        this.log.from(["volumes", key], at);
        continue;
      }
      // A managed volume's name is its name in the namespace; the key only refers to it in this file.
      const ployzName = name ?? key;
      if (name !== undefined && !isValidName(name)) {
        const suggestion = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "data";
        this.log.fail([...at, "name"], `${show(name)}: a Ployz volume name is 1–63 lowercase letters, digits or inner dashes; write one like "${suggestion}", or add external: true to mount the existing Docker volume ${show(name)}`);
        continue;
      }
      declared.set(key, { name: ployzName });
      volumes[ployzName] = {};
      this.log.from(["volumes", ployzName], name === undefined ? at : [...at, "name"]);
    }
    return { volumes, declared };
  }

  /** Configs by name; null for one that is declared but broken (already reported). */
  private topLevelConfigs(raw: unknown): Map<string, DeclaredConfig | null> {
    const out = new Map<string, DeclaredConfig | null>();
    for (const [name, def] of Object.entries(this.log.mapping(raw, ["configs"], "a mapping of configs") ?? {})) {
      const at = ["configs", name];
      out.set(name, null);
      const config = this.log.mapping(def, at, "a mapping with file:, content: or environment:");
      if (!config) continue;
      this.log.checkSection(config, at, "config");
      const sources = (["file", "content", "environment"] as const).filter((k) => config[k] !== undefined);
      if (sources.length !== 1) {
        this.log.fail(at, "needs exactly one of file:, content: or environment:");
      } else if (config.content !== undefined) {
        if (typeof config.content !== "string") this.log.fail([...at, "content"], `expected a string, got ${show(config.content)}`);
        else out.set(name, { content: config.content, at: [...at, "content"] });
      } else if (config.environment !== undefined) {
        const variable = config.environment;
        const content = typeof variable === "string" ? this.lookup(variable) : undefined;
        if (typeof variable !== "string") this.log.fail([...at, "environment"], `expected a variable name, got ${show(variable)}`);
        else if (content === undefined) this.log.fail([...at, "environment"], `variable ${variable} is not set: set it in your environment or in .env beside the Compose file`);
        else out.set(name, { content, at: [...at, "environment"] });
      } else if (typeof config.file !== "string") {
        this.log.fail([...at, "file"], `expected a path, got ${show(config.file)}`);
      } else {
        const content = this.readSideFile(config.file, [...at, "file"], "text");
        if (content !== undefined) out.set(name, { content, at: [...at, "file"] });
      }
    }
    return out;
  }

  /** Network names the services may list; each network's attributes checked against the table. */
  private topLevelNetworks(raw: unknown): Set<string> {
    const names = new Set(["default"]);
    for (const [name, def] of Object.entries(this.log.mapping(raw, ["networks"], "a mapping of networks") ?? {})) {
      const at = ["networks", name];
      names.add(name);
      const network = def === null ? {} : this.log.mapping(def, at, "a mapping");
      if (!network) continue;
      this.log.checkSection(network, at, "network");
      if (network.driver !== undefined && network.driver !== "bridge") this.log.fail([...at, "driver"], `${show(network.driver)}: the services of a namespace share one bridge network; only driver: bridge`);
      if (network.enable_ipv4 === false) this.log.fail([...at, "enable_ipv4"], "the namespace's network has IPv4; remove enable_ipv4: false");
    }
    return names;
  }

  /** A file beside the Compose file, as text or bytes; undefined when it cannot be read (reported) or is optional and missing. */
  private readSideFile(file: string, at: Path, as: "text", optional?: boolean): string | undefined;
  private readSideFile(file: string, at: Path, as: "bytes", optional?: boolean): Uint8Array | undefined;
  private readSideFile(file: string, at: Path, as: "text" | "bytes", optional = false): string | Uint8Array | undefined {
    const path = composeFilePath(this.options.baseDir, file);
    if (!path) return this.log.fail(at, `${show(file)} is outside the directory of ${this.options.fileName}; files it refers to must be beside it`);
    if (!this.options.readFile) return this.log.fail(at, `cannot read ${show(file)} here: files are read only when loading from disk`);
    let content: Uint8Array | string;
    try {
      content = this.options.readFile(path);
    } catch (error) {
      if (optional && error instanceof NotFoundError) return undefined;
      return this.log.fail(at, `cannot read ${show(file)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (as === "bytes") return typeof content === "string" ? new TextEncoder().encode(content) : content;
    if (typeof content === "string") return content;
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(content);
    } catch {
      return this.log.fail(at, `cannot read ${show(file)}: is not UTF-8 text`);
    }
  }

  private service(name: string, raw: unknown, context: ServiceContext): Doc {
    const log = this.log;
    const at = ["services", name];
    const service = log.mapping(raw, at, "a mapping") ?? {};
    log.checkSection(service, at, "service");
    const out: Doc = { image: service.image };
    for (const key of ["command", "entrypoint"] as const) {
      if (service[key] !== undefined) out[key] = this.command(service[key], [...at, key]);
    }
    if (service.environment !== undefined || service.env_file !== undefined) out.env = this.environment(service, at);
    if (service.labels !== undefined) out.labels = this.keyValues(service.labels, [...at, "labels"], [...at, "labels"], "labels");
    out.ports = this.ports(service.ports, service.expose, at);
    const mounts = this.volumes(service.volumes, at, context.declared);
    out.volumes = mounts.volumes;
    const tmpfs = [...this.tmpfs(service.tmpfs, at), ...mounts.tmpfs];
    if (tmpfs.length > 0) {
      out.tmpfs = tmpfs.map((t, i) => {
        log.from([...at, "tmpfs", i], t.at, t.opaque);
        // A long-syntax tmpfs volume keeps size and mode under tmpfs:.
        if (!t.opaque) for (const key of ["size", "mode"]) log.from([...at, "tmpfs", i, key], [...t.at, "tmpfs", key]);
        return t.mount;
      });
    }
    out.configs = this.serviceConfigs(service.configs, at, context.configs);
    if (service.secrets !== undefined) out.secrets = serviceSecrets(service.secrets, at, log, this.secrets!);
    Object.assign(out, containerFields(service, at, log));
    if (service.scale !== undefined) {
      out.replicas = service.scale;
      log.from([...at, "replicas"], [...at, "scale"]);
    }
    if (service.deploy !== undefined) Object.assign(out, this.deploy(service.deploy, at, service.scale));
    if (service.healthcheck !== undefined) Object.assign(out, this.healthcheck(service.healthcheck, at));
    if (service.depends_on !== undefined) out.dependsOn = this.dependsOn(service.depends_on, at, context);
    if (service.networks !== undefined) this.serviceNetworks(service.networks, at, context.networks);
    if (service.restart !== undefined) {
      if (typeof service.restart === "string" && service.restart.startsWith("on-failure:")) {
        log.fail([...at, "restart"], `Ployz does not support a retry limit (${show(service.restart)}); use "on-failure"`);
      }
      out.restart = service.restart;
    }
    return out;
  }

  /** A string is shell-split (Compose's rule); a list is kept, numbers in it written as text. */
  private command(raw: unknown, at: Path): unknown {
    if (typeof raw === "string") {
      try {
        return splitShellWords(raw);
      } catch (error) {
        return this.log.fail(at, `${show(raw)} ${(error as Error).message}`);
      }
    }
    if (!Array.isArray(raw)) return raw;
    return raw.map((word, i) => (typeof word === "number" || typeof word === "boolean" ? String(word) : typeof word === "string" ? word : this.log.fail([...at, i], `expected a string, got ${show(word)}`)));
  }

  /** `env_file:` first, then `environment:` over it. */
  private environment(service: Doc, at: Path): Record<string, string> {
    const fromFiles = envFromFiles(service.env_file, at, this.log, {
      lookup: this.lookup,
      readText: (file, where, optional) => this.readSideFile(file, where, "text", optional),
    });
    for (const [key, origin] of Object.entries(fromFiles.origins)) this.log.from([...at, "env", key], origin, true);
    if (service.environment === undefined) return fromFiles.vars;
    this.log.from([...at, "env"], [...at, "environment"]);
    return { ...fromFiles.vars, ...this.keyValues(service.environment, [...at, "environment"], [...at, "env"], "environment") };
  }

  /** `environment:` and `labels:` as a mapping or a list of `KEY=VALUE`. */
  private keyValues(raw: unknown, at: Path, ployzAt: Path, what: "environment" | "labels"): Record<string, string> {
    const out: Record<string, string> = {};
    const set = (key: string, value: unknown, where: Path, opaque: boolean) => {
      if (key in out) return this.log.fail(where, `sets ${key} twice`);
      if (value === null || value === undefined) {
        // Compose would take it from the shell that runs `compose up`, silently empty when unset.
        // Interpolation says the same thing explicitly, and fails loudly when it is not set.
        if (what === "environment") return this.log.fail(where, `${key} has no value: write ${key}: \${${key}} to take it from your environment or .env`);
        value = "";
      }
      if (typeof value === "object") return this.log.fail(where, `expected a string, got ${show(value)}`);
      out[key] = String(value);
      this.log.from([...ployzAt, key], where, opaque);
    };
    if (Array.isArray(raw)) {
      raw.forEach((item, i) => {
        if (typeof item !== "string") return this.log.fail([...at, i], `expected KEY=VALUE, got ${show(item)}`);
        const eq = item.indexOf("=");
        set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? undefined : item.slice(eq + 1), [...at, i], true);
      });
    } else if (isRecord(raw)) {
      for (const [key, value] of Object.entries(raw)) set(key, value, [...at, key], false);
    } else {
      this.log.fail(at, `expected a mapping or a list of KEY=VALUE, got ${show(raw)}`);
    }
    return out;
  }

  /** `ports:` (short and long syntax) and `expose:`; published ports are always on 127.0.0.1. */
  private ports(rawPorts: unknown, rawExpose: unknown, service: Path): Doc[] {
    const log = this.log;
    const out: Doc[] = [];
    log.list(rawPorts, [...service, "ports"]).forEach((item, i) => {
      const at = [...service, "ports", i];
      const ployzAt = [...service, "ports", out.length];
      if (typeof item === "number" || typeof item === "string") {
        const port = parseShortPort(String(item));
        if (typeof port === "string") return log.fail(at, `${show(item)}: ${port}`);
        log.from(ployzAt, at, true);
        return out.push(port as unknown as Doc);
      }
      const long = log.mapping(item, at, "a port");
      if (!long) return;
      log.checkKeys(long, at, ["target", "published", "protocol", "host_ip"]);
      if (long.host_ip !== undefined && long.host_ip !== "127.0.0.1") log.fail([...at, "host_ip"], `${show(long.host_ip)}: Ployz publishes ports on 127.0.0.1 only`);
      let published: unknown = long.published;
      if (typeof published === "string") {
        const port = parsePortNumber(published);
        if (typeof port === "string") return log.fail([...at, "published"], `${show(published)}: ${port}`);
        published = port;
      }
      log.from(ployzAt, at);
      log.from([...ployzAt, "container"], [...at, "target"]);
      out.push({ container: long.target, ...(published === undefined ? {} : { published }), ...(long.protocol === undefined ? {} : { protocol: long.protocol }) });
    });
    log.list(rawExpose, [...service, "expose"]).forEach((item, i) => {
      const at = [...service, "expose", i];
      const port = typeof item === "number" || typeof item === "string" ? parseShortPort(String(item)) : `expected a port, got ${show(item)}`;
      if (typeof port === "string") return log.fail(at, port);
      if (port.published !== undefined) return log.fail(at, `${show(item)}: expose takes a container port only`);
      if (out.some((p) => p.container === port.container && (p.protocol ?? "tcp") === (port.protocol ?? "tcp"))) return;
      log.from([...service, "ports", out.length], at, true);
      out.push(port as unknown as Doc);
    });
    return out;
  }

  /** `tmpfs:` entries, with where each came from. */
  private tmpfs(raw: unknown, service: Path): TmpfsFrom[] {
    const at = [...service, "tmpfs"];
    const single = typeof raw === "string";
    return this.log.stringOrList(raw, at).flatMap((entry, i) => {
      const where = single ? at : [...at, i];
      const mount = tmpfsEntry(entry, where, this.log);
      return mount ? [{ mount, at: where, opaque: true }] : [];
    });
  }

  /** Named volumes and binds go to `volumes`, long-syntax tmpfs volumes to `tmpfs`. */
  private volumes(raw: unknown, service: Path, declared: Map<string, DeclaredVolume>): { volumes: Doc[]; tmpfs: TmpfsFrom[] } {
    const log = this.log;
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
        const mount = this.mount(isBind ? "bind" : "volume", isBind ? source : ployzName(source), target, flags.includes("ro"), at);
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
      const mount = this.mount(long.type, long.type === "volume" ? ployzName(long.source) : long.source, long.target, long.read_only, [...at, "source"]);
      if (mount) volumes.push(mount);
    });
    return { volumes, tmpfs };
  }

  /** A bind source resolves against the Compose file's directory, as Compose does. */
  private mount(type: "volume" | "bind", source: string, target: unknown, readOnly: unknown, at: Path): Doc | undefined {
    if (type === "volume") return { type, source, target, ...(readOnly === undefined ? {} : { readOnly }) };
    if (source.startsWith("~")) return this.log.fail(at, `${show(source)}: write the path without ~ (the container may run on another machine, with another home)`);
    const path = posix.isAbsolute(source) ? posix.normalize(source) : posix.join(this.options.baseDir, source);
    return { type, source: path, target, ...(readOnly === undefined ? {} : { readOnly }) };
  }

  private serviceConfigs(raw: unknown, service: Path, declared: Map<string, DeclaredConfig | null>): Doc[] {
    const log = this.log;
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

  /** mode, replicas, resources and placement; a reservation is what Ployz schedules by, so it wins over a limit. */
  private deploy(raw: unknown, service: Path, scale: unknown): Doc {
    const log = this.log;
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
    if (deploy.placement !== undefined) out.placement = this.placement(deploy.placement, [...at, "placement"], service);
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
  private placement(raw: unknown, at: Path, service: Path): Doc {
    const log = this.log;
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

  /** The readiness probe a deploy waits for, and the container's own Docker healthcheck. */
  private healthcheck(raw: unknown, service: Path): Doc {
    const log = this.log;
    const at = [...service, "healthcheck"];
    const check = log.mapping(raw, at, "a mapping");
    if (!check) return {};
    log.checkSection(check, at, "healthcheck");
    if (check.disable !== undefined && typeof check.disable !== "boolean") return log.fail([...at, "disable"], `expected true or false, got ${show(check.disable)}`) ?? {};
    if (check.disable === true) {
      log.from([...service, "healthcheck"], [...at, "disable"]);
      return { healthcheck: { test: ["NONE"] } };
    }
    const command = this.healthcheckCommand(check.test, [...at, "test"]);
    if (!command) return {};
    if (command === "NONE") {
      log.from([...service, "healthcheck"], [...at, "test"]);
      return { healthcheck: { test: ["NONE"] } };
    }
    const readinessAt = [...service, "readiness"];
    log.from(readinessAt, at);
    log.from([...readinessAt, "command"], [...at, "test"]);
    log.from([...readinessAt, "startPeriod"], [...at, "start_period"]);
    log.from([...service, "healthcheck"], at);
    log.from([...service, "healthcheck", "test"], [...at, "test"]);
    log.from([...service, "healthcheck", "startPeriod"], [...at, "start_period"]);
    const given = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });
    return {
      readiness: {
        type: "exec",
        command: command.exec,
        interval: check.interval ?? HEALTHCHECK_DEFAULTS.interval,
        timeout: check.timeout ?? HEALTHCHECK_DEFAULTS.timeout,
        retries: check.retries ?? HEALTHCHECK_DEFAULTS.retries,
        startPeriod: check.start_period ?? HEALTHCHECK_DEFAULTS.start_period,
      },
      healthcheck: { test: command.docker, ...given("interval", check.interval), ...given("timeout", check.timeout), ...given("retries", check.retries), ...given("startPeriod", check.start_period) },
    };
  }

  /** A healthcheck test as an exec command and in Docker's form; "NONE"; undefined for errors (recorded). */
  private healthcheckCommand(test: unknown, at: Path): { exec: string[]; docker: string[] } | "NONE" | undefined {
    const log = this.log;
    if (test === undefined) return log.fail(at, "is required: Ployz cannot adjust an image's own HEALTHCHECK; write the test here");
    if (typeof test === "string") return test.trim() ? { exec: ["/bin/sh", "-c", test], docker: ["CMD-SHELL", test] } : log.fail(at, "must not be empty");
    if (!Array.isArray(test) || test.length === 0) return log.fail(at, `expected a command string or a list starting with "CMD", "CMD-SHELL" or "NONE", got ${show(test)}`);
    const bad = test.findIndex((word) => typeof word !== "string");
    if (bad >= 0) return log.fail([...at, bad], `expected a string, got ${show(test[bad])}`);
    const [kind, ...args] = test as string[];
    if (kind === "NONE" && args.length === 0) return "NONE";
    if (kind === "CMD" && args.length > 0) return { exec: args, docker: ["CMD", ...args] };
    if (kind === "CMD-SHELL" && args.length === 1) return { exec: ["/bin/sh", "-c", args[0]!], docker: ["CMD-SHELL", args[0]!] };
    if (kind === "CMD" || kind === "CMD-SHELL" || kind === "NONE") {
      return log.fail(at, `"${kind}" takes ${kind === "CMD" ? "a command after it" : kind === "NONE" ? "nothing after it" : "exactly one shell command string"}`);
    }
    return log.fail([...at, 0], `must be "CMD", "CMD-SHELL" or "NONE", not ${show(kind)}`);
  }

  private dependsOn(raw: unknown, service: Path, context: ServiceContext): string[] {
    const log = this.log;
    const at = [...service, "depends_on"];
    log.from([...service, "dependsOn"], at);
    const known = (dep: string, where: Path): string => {
      if (Object.hasOwn(context.all, dep) && !context.enabled.has(dep)) {
        const profiles = (context.all[dep] as Doc).profiles as string[];
        log.fail(where, `depends on "${dep}", which is only in profile ${profiles.map((p) => JSON.stringify(p)).join(", ")}: pass --profile ${profiles[0]}`);
      }
      return dep;
    };
    if (Array.isArray(raw)) return raw.map((dep, i) => (typeof dep === "string" ? known(dep, [...at, i]) : (log.fail([...at, i], `expected a service name, got ${show(dep)}`) ?? "")));
    const deps = log.mapping(raw, at, "a list of services or a mapping");
    return Object.entries(deps ?? {}).map(([dep, rawCondition], i) => {
      log.from([...service, "dependsOn", i], [...at, dep], true);
      known(dep, [...at, dep]);
      if (rawCondition === null) return dep;
      const condition = log.mapping(rawCondition, [...at, dep], "a mapping with condition:");
      if (!condition) return dep;
      log.checkKeys(condition, [...at, dep], ["condition", "required", "restart"]);
      const value = condition.condition ?? "service_started";
      if (value !== "service_started" && value !== "service_healthy") {
        log.fail([...at, dep, "condition"], `Ployz does not support condition ${show(value)}; use service_started or service_healthy`);
      }
      if (condition.required !== undefined && condition.required !== true) log.fail([...at, dep, "required"], "Ployz has no optional dependencies; only required: true");
      if (condition.restart !== undefined && condition.restart !== false) log.fail([...at, dep, "restart"], "Ployz does not restart a service when its dependency restarts; only restart: false");
      return dep;
    });
  }

  /** Network names are accepted (one network per namespace); their per-service options are refused. */
  private serviceNetworks(raw: unknown, service: Path, declared: Set<string>): void {
    const log = this.log;
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

  /** Interpolates every string value (keys are not), leaving `x-` extensions as they are. */
  private interpolateAll(value: unknown, at: Path): unknown {
    if (typeof value === "string") {
      try {
        return interpolate(value, this.lookup);
      } catch (error) {
        if (!(error instanceof InterpolationError)) throw error;
        this.log.fail(at, error.message);
        return value; // reported; kept as written so nothing else reports the same spot again
      }
    }
    if (Array.isArray(value)) return value.map((item, i) => this.interpolateAll(item, [...at, i]));
    if (isRecord(value)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, key.startsWith("x-") ? item : this.interpolateAll(item, [...at, key])]));
    }
    return value;
  }
}

interface ServiceContext {
  configs: Map<string, DeclaredConfig | null>;
  declared: Map<string, DeclaredVolume>;
  networks: Set<string>;
  enabled: Set<string>;
  all: Doc;
}

interface TmpfsFrom {
  mount: Doc;
  at: Path;
  opaque: boolean;
}

export { splitShellWords };
