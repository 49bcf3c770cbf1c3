import { splitShellWords } from "./shell-words.ts";
import { posix } from "node:path";
import { namespaceSpecSchema, type NamespaceSpec, type NamespaceSpecInput } from "./manifest.ts";
import { issuesFromZod, manifestError, show, type DocumentPath, type ManifestIssue } from "./manifest-errors.ts";

/**
 * Compose files (the common subset of the Compose Specification) as Ployz namespace specs.
 * Every key either maps to something Ployz does, or is an error naming it: a Compose file never
 * deploys with part of it quietly dropped. `x-` extensions are the exception the spec itself
 * makes — they exist to be ignored — and `version` is obsolete in the spec, so it is ignored too.
 */

/** What converting needs besides the document. */
export interface ComposeOptions {
  /** Named in messages, as the operator wrote it. */
  fileName: string;
  /** The absolute directory of the Compose file: relative binds and config files resolve from it. */
  baseDir: string;
  /** `-n`: wins over the file's top-level `name`. */
  namespace?: string;
  /** Contents of a config `file:`, by absolute path (already checked to be inside baseDir); throws to refuse. */
  readConfigFile?: (path: string) => string;
}

/** A config `file:` the converter will ask for, so the caller can read it first. */
export interface ComposeConfigFile {
  name: string;
  /** As written in the Compose file. */
  file: string;
  /** Absolute, normalized, inside baseDir. */
  path: string;
}

type Path = Array<string | number>;
type Doc = Record<string, unknown>;
/** A top-level config's content and the Compose path it came from. */
interface DeclaredConfig {
  content: string;
  at: Path;
}

const COMPOSE_FILE_NAME = /^(docker-)?compose\.ya?ml$/;
/** `version` is obsolete in the Compose Specification: accepted and ignored, as Compose does. */
const TOP_LEVEL_KEYS = ["name", "services", "volumes", "configs", "version"];
const SERVICE_KEYS = ["image", "command", "entrypoint", "environment", "ports", "expose", "volumes", "configs", "deploy", "healthcheck", "depends_on", "labels", "restart"];
/** Docker's defaults when a healthcheck leaves them out; Ployz's own are much shorter. */
const HEALTHCHECK_DEFAULTS = { interval: 30_000, timeout: 30_000, retries: 3, start_period: 0 };
const WHY_NOT: Record<string, string> = {
  build: "build and push the image, then name it in image:",
  networks: "the services of a namespace share one network and reach each other by name",
  network_mode: "the services of a namespace share one network and reach each other by name",
  links: "services reach each other by name",
  secrets: "use configs:",
  env_file: "write the variables under environment:",
  container_name: "Ployz names each replica's container itself",
  scale: "use deploy.replicas",
  restart_policy: "use restart: on the service",
  start_interval: "use interval:",
};

/** True when `doc` should be read as Compose: named like one, or `services:` without `namespace:`. */
export function isComposeDocument(doc: unknown, fileName: string): boolean {
  if (COMPOSE_FILE_NAME.test(posix.basename(fileName.replaceAll("\\", "/")))) return true;
  return isRecord(doc) && "services" in doc && !("namespace" in doc);
}

/** The config files a Compose document refers to that lie inside baseDir (others are refused on conversion). */
export function composeConfigFiles(doc: unknown, options: { baseDir: string }): ComposeConfigFile[] {
  if (!isRecord(doc) || !isRecord(doc.configs)) return [];
  return Object.entries(doc.configs).flatMap(([name, def]) => {
    if (!isRecord(def) || typeof def.file !== "string") return [];
    const file = def.file.replaceAll("$$", "$");
    const path = configFilePath(options.baseDir, file);
    return path ? [{ name, file, path }] : [];
  });
}

/** Converts a parsed Compose document, or throws a ManifestError with every problem at its Compose path. */
export function composeToSpec(doc: unknown, options: ComposeOptions): NamespaceSpec {
  const conversion = new Conversion(options);
  const input = conversion.namespace(doc);
  const hint = COMPOSE_FILE_NAME.test(posix.basename(options.fileName))
    ? undefined
    : "read as a Compose file because it has services: and no namespace:; add namespace: to write a Ployz manifest";
  if (conversion.issues.length > 0 || !input) throw manifestError(options.fileName, conversion.issues, hint ? { hint } : {});
  const parsed = namespaceSpecSchema.safeParse(input);
  if (parsed.success) return withGatewayRoutes(parsed.data);
  const issues = issuesFromZod(parsed.error.issues, input).map((issue) => ({ ...issue, path: conversion.composePathOf(issue.path) }));
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

/** Normalized absolute path of a config file, or undefined when it would escape baseDir. */
function configFilePath(baseDir: string, file: string): string | undefined {
  const path = posix.normalize(posix.isAbsolute(file) ? file : posix.join(baseDir, file));
  const root = baseDir.endsWith("/") ? baseDir : `${baseDir}/`;
  return path.startsWith(root) ? path : undefined;
}

function isRecord(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One conversion: collects every problem, and remembers which Compose path each Ployz field came from. */
class Conversion {
  readonly issues: ManifestIssue[] = [];
  private readonly origins = new Map<string, { path: Path; opaque: boolean }>();

  constructor(private readonly options: ComposeOptions) {}

  /** The Compose path a Ployz path came from: the longest recorded prefix, plus the rest unless the source was a short-syntax string. */
  composePathOf(path: DocumentPath): DocumentPath {
    for (let n = path.length; n >= 0; n--) {
      const origin = this.origins.get(JSON.stringify(path.slice(0, n)));
      if (origin) return origin.opaque ? origin.path : [...origin.path, ...path.slice(n)];
    }
    return path;
  }

  namespace(raw: unknown): NamespaceSpecInput | undefined {
    if (!isRecord(raw)) return this.fail([], `a Compose file must be a mapping with services:, not ${show(raw)}`);
    const doc = this.unescapeDollars(raw, []) as Doc;
    this.checkKeys(doc, [], TOP_LEVEL_KEYS);
    let namespace: unknown = doc.name;
    if (this.options.namespace !== undefined) {
      namespace = this.options.namespace;
      this.from(["namespace"], ["-n"]);
    } else if (doc.name !== undefined) {
      this.from(["namespace"], ["name"]);
    } else {
      this.fail([], "has no name: pass -n NAMESPACE, or set a top-level name:");
    }
    const volumes = this.topLevelVolumes(doc.volumes);
    const configs = this.topLevelConfigs(doc.configs);
    const services: Doc = {};
    const rawServices = this.mapping(doc.services, ["services"], "a mapping of services");
    for (const [name, service] of Object.entries(rawServices ?? {})) services[name] = this.service(name, service, configs);
    return { namespace: namespace as string, services: services as NamespaceSpecInput["services"], volumes };
  }

  private topLevelVolumes(raw: unknown): Record<string, { external?: boolean }> {
    const out: Record<string, { external?: boolean }> = {};
    for (const [name, def] of Object.entries(this.mapping(raw, ["volumes"], "a mapping of volumes") ?? {})) {
      const at = ["volumes", name];
      if (def === null) {
        out[name] = {};
        continue;
      }
      const volume = this.mapping(def, at, "a mapping");
      if (!volume) continue;
      this.checkKeys(volume, at, ["external"]);
      if (volume.external !== undefined && typeof volume.external !== "boolean") this.fail([...at, "external"], `expected true or false, got ${show(volume.external)}`);
      out[name] = volume.external === true ? { external: true } : {};
    }
    return out;
  }

  /** Configs by name; null for one that is declared but broken (already reported). */
  private topLevelConfigs(raw: unknown): Map<string, DeclaredConfig | null> {
    const out = new Map<string, DeclaredConfig | null>();
    for (const [name, def] of Object.entries(this.mapping(raw, ["configs"], "a mapping of configs") ?? {})) {
      const at = ["configs", name];
      out.set(name, null);
      const config = this.mapping(def, at, "a mapping with file: or content:");
      if (!config) continue;
      this.checkKeys(config, at, ["file", "content"]);
      if ((config.file === undefined) === (config.content === undefined)) {
        this.fail(at, "needs exactly one of file: or content:");
      } else if (config.content !== undefined) {
        if (typeof config.content !== "string") this.fail([...at, "content"], `expected a string, got ${show(config.content)}`);
        else out.set(name, { content: config.content, at: [...at, "content"] });
      } else if (typeof config.file !== "string") {
        this.fail([...at, "file"], `expected a path, got ${show(config.file)}`);
      } else {
        const content = this.readConfigFile(config.file, [...at, "file"]);
        if (content !== undefined) out.set(name, { content, at: [...at, "file"] });
      }
    }
    return out;
  }

  private readConfigFile(file: string, at: Path): string | undefined {
    const path = configFilePath(this.options.baseDir, file);
    if (!path) return this.fail(at, `${show(file)} is outside the directory of ${this.options.fileName}; config files must be beside it`);
    if (!this.options.readConfigFile) return this.fail(at, `cannot read ${show(file)} here: config files are read only when loading from disk`);
    try {
      return this.options.readConfigFile(path);
    } catch (error) {
      return this.fail(at, `cannot read ${show(file)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private service(name: string, raw: unknown, configs: Map<string, DeclaredConfig | null>): Doc {
    const at = ["services", name];
    const service = this.mapping(raw, at, "a mapping") ?? {};
    this.checkKeys(service, at, SERVICE_KEYS);
    const out: Doc = { image: service.image };
    for (const key of ["command", "entrypoint"] as const) {
      if (service[key] !== undefined) out[key] = this.command(service[key], [...at, key]);
    }
    if (service.environment !== undefined) {
      this.from([...at, "env"], [...at, "environment"]);
      out.env = this.keyValues(service.environment, [...at, "environment"], [...at, "env"], "environment");
    }
    if (service.labels !== undefined) out.labels = this.keyValues(service.labels, [...at, "labels"], [...at, "labels"], "labels");
    out.ports = this.ports(service.ports, service.expose, at);
    out.volumes = this.volumes(service.volumes, at);
    out.configs = this.serviceConfigs(service.configs, at, configs);
    if (service.deploy !== undefined) Object.assign(out, this.deploy(service.deploy, at));
    if (service.healthcheck !== undefined) {
      const readiness = this.healthcheck(service.healthcheck, [...at, "healthcheck"], [...at, "readiness"]);
      if (readiness) out.readiness = readiness;
    }
    if (service.depends_on !== undefined) out.dependsOn = this.dependsOn(service.depends_on, at);
    if (service.restart !== undefined) {
      if (typeof service.restart === "string" && service.restart.startsWith("on-failure:")) {
        this.fail([...at, "restart"], `Ployz does not support a retry limit (${show(service.restart)}); use "on-failure"`);
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
        return this.fail(at, `${show(raw)} ${(error as Error).message}`);
      }
    }
    if (!Array.isArray(raw)) return raw;
    return raw.map((word, i) => (typeof word === "number" || typeof word === "boolean" ? String(word) : typeof word === "string" ? word : this.fail([...at, i], `expected a string, got ${show(word)}`)));
  }

  /** `environment:` and `labels:` as a mapping or a list of `KEY=VALUE`. */
  private keyValues(raw: unknown, at: Path, ployzAt: Path, what: "environment" | "labels"): Record<string, string> {
    const out: Record<string, string> = {};
    const set = (key: string, value: unknown, where: Path, opaque: boolean) => {
      if (key in out) return this.fail(where, `sets ${key} twice`);
      if (value === null || value === undefined) {
        // Compose would take it from the shell that runs `compose up`. A spec stored in the
        // cluster must not depend on who deploys it, nor carry their secrets unannounced.
        if (what === "environment") return this.fail(where, `${key} has no value: Ployz does not read your shell's environment; write the value here`);
        value = "";
      }
      if (typeof value === "object") return this.fail(where, `expected a string, got ${show(value)}`);
      out[key] = String(value);
      this.from([...ployzAt, key], where, opaque);
    };
    if (Array.isArray(raw)) {
      raw.forEach((item, i) => {
        if (typeof item !== "string") return this.fail([...at, i], `expected KEY=VALUE, got ${show(item)}`);
        const eq = item.indexOf("=");
        set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? undefined : item.slice(eq + 1), [...at, i], true);
      });
    } else if (isRecord(raw)) {
      for (const [key, value] of Object.entries(raw)) set(key, value, [...at, key], false);
    } else {
      this.fail(at, `expected a mapping or a list of KEY=VALUE, got ${show(raw)}`);
    }
    return out;
  }

  /** `ports:` (short and long syntax) and `expose:`; published ports are always on 127.0.0.1. */
  private ports(rawPorts: unknown, rawExpose: unknown, service: Path): Doc[] {
    const out: Doc[] = [];
    this.list(rawPorts, [...service, "ports"]).forEach((item, i) => {
      const at = [...service, "ports", i];
      const ployzAt = [...service, "ports", out.length];
      if (typeof item === "number" || typeof item === "string") {
        const port = parseShortPort(String(item));
        if (typeof port === "string") return this.fail(at, `${show(item)}: ${port}`);
        this.from(ployzAt, at, true);
        return out.push(port);
      }
      const long = this.mapping(item, at, "a port");
      if (!long) return;
      this.checkKeys(long, at, ["target", "published", "protocol", "host_ip"]);
      if (long.host_ip !== undefined && long.host_ip !== "127.0.0.1") this.fail([...at, "host_ip"], `${show(long.host_ip)}: Ployz publishes ports on 127.0.0.1 only`);
      let published: unknown = long.published;
      if (typeof published === "string") {
        const port = parsePortNumber(published);
        if (typeof port === "string") return this.fail([...at, "published"], `${show(published)}: ${port}`);
        published = port;
      }
      this.from(ployzAt, at);
      this.from([...ployzAt, "container"], [...at, "target"]);
      out.push({ container: long.target, ...(published === undefined ? {} : { published }), ...(long.protocol === undefined ? {} : { protocol: long.protocol }) });
    });
    this.list(rawExpose, [...service, "expose"]).forEach((item, i) => {
      const at = [...service, "expose", i];
      const port = typeof item === "number" || typeof item === "string" ? parseShortPort(String(item)) : `expected a port, got ${show(item)}`;
      if (typeof port === "string") return this.fail(at, port);
      if (port.published !== undefined) return this.fail(at, `${show(item)}: expose takes a container port only`);
      if (out.some((p) => p.container === port.container && (p.protocol ?? "tcp") === (port.protocol ?? "tcp"))) return;
      this.from([...service, "ports", out.length], at, true);
      out.push(port);
    });
    return out;
  }

  private volumes(raw: unknown, service: Path): Doc[] {
    return this.list(raw, [...service, "volumes"]).flatMap((item, i) => {
      const at = [...service, "volumes", i];
      const ployzAt = [...service, "volumes", i];
      if (typeof item === "string") {
        const [source = "", target, options, ...extra] = item.split(":");
        if (target === undefined) return this.fail(at, `${show(item)}: anonymous volumes are not supported; write NAME:${item} and declare NAME under top-level volumes:`) ?? [];
        const flags = options === undefined ? [] : options.split(",");
        const bad = flags.find((flag) => flag !== "ro" && flag !== "rw");
        if (extra.length > 0 || bad !== undefined) return this.fail(at, `${show(item)}: expected SOURCE:TARGET[:ro|rw]${bad ? `; option "${bad}" is not supported` : ""}`) ?? [];
        const mount = this.mount(/^[./~]/.test(source) ? "bind" : "volume", source, target, flags.includes("ro"), at);
        this.from(ployzAt, at, true);
        return mount ? [mount] : [];
      }
      const long = this.mapping(item, at, "a volume");
      if (!long) return [];
      this.checkKeys(long, at, ["type", "source", "target", "read_only"]);
      if (long.type !== "volume" && long.type !== "bind") return this.fail([...at, "type"], `must be "volume" or "bind", not ${show(long.type)}`) ?? [];
      if (typeof long.source !== "string") return this.fail([...at, "source"], long.source === undefined ? "is required: Ployz has no anonymous volumes" : `expected a string, got ${show(long.source)}`) ?? [];
      this.from(ployzAt, at);
      this.from([...ployzAt, "readOnly"], [...at, "read_only"]);
      const mount = this.mount(long.type, long.source, long.target, long.read_only, [...at, "source"]);
      return mount ? [mount] : [];
    });
  }

  /** A bind source resolves against the Compose file's directory, as Compose does. */
  private mount(type: "volume" | "bind", source: string, target: unknown, readOnly: unknown, at: Path): Doc | undefined {
    if (type === "volume") return { type, source, target, ...(readOnly === undefined ? {} : { readOnly }) };
    if (source.startsWith("~")) return this.fail(at, `${show(source)}: write the path without ~ (the container may run on another machine, with another home)`);
    const path = posix.isAbsolute(source) ? posix.normalize(source) : posix.join(this.options.baseDir, source);
    return { type, source: path, target, ...(readOnly === undefined ? {} : { readOnly }) };
  }

  private serviceConfigs(raw: unknown, service: Path, declared: Map<string, DeclaredConfig | null>): Doc[] {
    return this.list(raw, [...service, "configs"]).flatMap((item, i) => {
      const at = [...service, "configs", i];
      const ployzAt = [...service, "configs", i];
      const long: Doc | undefined = typeof item === "string" ? { source: item } : this.mapping(item, at, "a config name or a mapping");
      if (!long) return [];
      if (typeof item !== "string") this.checkKeys(long, at, ["source", "target", "mode"]);
      const sourceAt = typeof item === "string" ? at : [...at, "source"];
      if (typeof long.source !== "string") return this.fail(sourceAt, long.source === undefined ? "is required" : `expected a config name, got ${show(long.source)}`) ?? [];
      const config = declared.get(long.source);
      if (config === undefined) return this.fail(sourceAt, `config "${long.source}" is not declared under top-level configs:`) ?? [];
      if (config === null) return [];
      let mode = long.mode;
      if (typeof mode === "string" && /^[0-7]{1,4}$/.test(mode)) mode = Number.parseInt(mode, 8);
      this.from(ployzAt, at, typeof item === "string");
      this.from([...ployzAt, "content"], config.at);
      return [{ target: long.target ?? `/${long.source}`, content: config.content, ...(mode === undefined ? {} : { mode }) }];
    });
  }

  /** mode, replicas and resources; a reservation is what Ployz schedules by, so it wins over a limit. */
  private deploy(raw: unknown, service: Path): Doc {
    const at = [...service, "deploy"];
    const deploy = this.mapping(raw, at, "a mapping");
    if (!deploy) return {};
    this.checkKeys(deploy, at, ["mode", "replicas", "resources"]);
    const out: Doc = {};
    if (deploy.mode !== undefined) {
      out.mode = deploy.mode;
      this.from([...service, "mode"], [...at, "mode"]);
    }
    if (deploy.replicas !== undefined) {
      out.replicas = deploy.replicas;
      this.from([...service, "replicas"], [...at, "replicas"]);
    }
    const resources = this.mapping(deploy.resources, [...at, "resources"], "a mapping");
    if (!resources) return out;
    this.checkKeys(resources, [...at, "resources"], ["limits", "reservations"]);
    const levels = (["reservations", "limits"] as const).flatMap((level) => {
      const value = this.mapping(resources[level], [...at, "resources", level], "a mapping");
      if (value) this.checkKeys(value, [...at, "resources", level], ["cpus", "memory"]);
      return value ? [{ level, value }] : [];
    });
    const chosen: Doc = {};
    for (const [key, field] of [["cpus", "cpu"], ["memory", "memory"]] as const) {
      const found = levels.find(({ value }) => value[key] !== undefined);
      if (!found) continue;
      const where = [...at, "resources", found.level, key];
      this.from([...service, "resources", field], where);
      const value = found.value[key];
      if (key === "cpus") chosen.cpu = value;
      else if (typeof value !== "string" && typeof value !== "number") this.fail(where, `expected a size like 512m, got ${show(value)}`);
      else chosen.memory = parseComposeBytes(value) ?? this.fail(where, `${show(value)} is not a size like 512m, 1g or 1073741824`);
    }
    out.resources = chosen;
    return out;
  }

  private healthcheck(raw: unknown, at: Path, ployzAt: Path): Doc | undefined {
    const check = this.mapping(raw, at, "a mapping");
    if (!check) return undefined;
    this.checkKeys(check, at, ["test", "interval", "timeout", "retries", "start_period", "disable"]);
    if (check.disable !== undefined && typeof check.disable !== "boolean") return this.fail([...at, "disable"], `expected true or false, got ${show(check.disable)}`);
    if (check.disable === true) return undefined;
    const command = this.healthcheckCommand(check.test, [...at, "test"]);
    if (!command) return undefined;
    this.from(ployzAt, at);
    this.from([...ployzAt, "command"], [...at, "test"]);
    this.from([...ployzAt, "startPeriod"], [...at, "start_period"]);
    return {
      type: "exec",
      command,
      interval: check.interval ?? HEALTHCHECK_DEFAULTS.interval,
      timeout: check.timeout ?? HEALTHCHECK_DEFAULTS.timeout,
      retries: check.retries ?? HEALTHCHECK_DEFAULTS.retries,
      startPeriod: check.start_period ?? HEALTHCHECK_DEFAULTS.start_period,
    };
  }

  /** The exec command of a healthcheck test, or undefined for NONE (and for errors, recorded). */
  private healthcheckCommand(test: unknown, at: Path): string[] | undefined {
    if (test === undefined) return this.fail(at, "is required: Ployz cannot adjust an image's own HEALTHCHECK; write the test here");
    if (typeof test === "string") return test.trim() ? ["/bin/sh", "-c", test] : this.fail(at, "must not be empty");
    if (!Array.isArray(test) || test.length === 0) return this.fail(at, `expected a command string or a list starting with "CMD", "CMD-SHELL" or "NONE", got ${show(test)}`);
    const bad = test.findIndex((word) => typeof word !== "string");
    if (bad >= 0) return this.fail([...at, bad], `expected a string, got ${show(test[bad])}`);
    const [kind, ...args] = test as string[];
    if (kind === "NONE" && args.length === 0) return undefined;
    if (kind === "CMD" && args.length > 0) return args;
    if (kind === "CMD-SHELL" && args.length === 1) return ["/bin/sh", "-c", args[0]!];
    if (kind === "CMD" || kind === "CMD-SHELL" || kind === "NONE") {
      return this.fail(at, `"${kind}" takes ${kind === "CMD" ? "a command after it" : kind === "NONE" ? "nothing after it" : "exactly one shell command string"}`);
    }
    return this.fail([...at, 0], `must be "CMD", "CMD-SHELL" or "NONE", not ${show(kind)}`);
  }

  private dependsOn(raw: unknown, service: Path): string[] {
    const at = [...service, "depends_on"];
    this.from([...service, "dependsOn"], at);
    if (Array.isArray(raw)) return raw.map((dep, i) => (typeof dep === "string" ? dep : (this.fail([...at, i], `expected a service name, got ${show(dep)}`) ?? "")));
    const deps = this.mapping(raw, at, "a list of services or a mapping");
    return Object.entries(deps ?? {}).map(([dep, rawCondition], i) => {
      this.from([...service, "dependsOn", i], [...at, dep], true);
      if (rawCondition === null) return dep;
      const condition = this.mapping(rawCondition, [...at, dep], "a mapping with condition:");
      if (!condition) return dep;
      this.checkKeys(condition, [...at, dep], ["condition", "required", "restart"]);
      const value = condition.condition ?? "service_started";
      if (value !== "service_started" && value !== "service_healthy") {
        this.fail([...at, dep, "condition"], `Ployz does not support condition ${show(value)}; use service_started or service_healthy`);
      }
      if (condition.required !== undefined && condition.required !== true) this.fail([...at, dep, "required"], "Ployz has no optional dependencies; only required: true");
      if (condition.restart !== undefined && condition.restart !== false) this.fail([...at, dep, "restart"], "Ployz does not restart a service when its dependency restarts; only restart: false");
      return dep;
    });
  }

  /**
   * Compose substitutes `${VAR}` and `$VAR` from the operator's shell; Ployz does not (see
   * keyValues), so they are refused rather than kept literally. `$$` is Compose's literal `$`.
   */
  private unescapeDollars(value: unknown, at: Path): unknown {
    if (typeof value === "string") {
      let bad: string | undefined;
      const out = value.replace(/\$(\$|\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*|)/g, (match, rest: string) => {
        if (rest === "$") return "$";
        bad ??= match;
        return match;
      });
      if (bad !== undefined) this.fail(at, `${show(bad)}: Ployz does not substitute variables; write the value, or $$ for a literal $`);
      return out;
    }
    if (Array.isArray(value)) return value.map((item, i) => this.unescapeDollars(item, [...at, i]));
    if (isRecord(value)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, key.startsWith("x-") ? item : this.unescapeDollars(item, [...at, key])]));
    }
    return value;
  }

  /** Refuses every key not in `supported`, except `x-` extensions. */
  private checkKeys(doc: Doc, at: Path, supported: readonly string[]): void {
    for (const key of Object.keys(doc)) {
      if (supported.includes(key) || key.startsWith("x-")) continue;
      const why = WHY_NOT[key];
      this.fail([...at, key], `Ployz does not support ${JSON.stringify(key)}${why ? ` — ${why}` : ""}`);
    }
  }

  private mapping(raw: unknown, at: Path, what: string): Doc | undefined {
    if (raw === undefined) return undefined;
    if (isRecord(raw)) return raw;
    return this.fail(at, `expected ${what}, got ${show(raw)}`);
  }

  private list(raw: unknown, at: Path): unknown[] {
    if (raw === undefined) return [];
    if (Array.isArray(raw)) return raw;
    this.fail(at, `expected a list, got ${show(raw)}`);
    return [];
  }

  private from(ployz: Path, compose: Path, opaque = false): void {
    this.origins.set(JSON.stringify(ployz), { path: compose, opaque });
  }

  private fail(path: Path, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }
}

/** `"8080:80"`, `"80"`, `"127.0.0.1:8080:80/udp"`, `"[127.0.0.1]::80"` → a Ployz port, or why not. */
function parseShortPort(text: string): { container: number; published?: number; protocol?: string } | string {
  let rest = text.trim();
  let protocol: string | undefined;
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (protocol !== "tcp" && protocol !== "udp") return `protocol "${protocol}" is not supported (tcp or udp)`;
  }
  let hostIp: string | undefined;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracketed) [, hostIp, rest] = bracketed as unknown as [string, string, string];
  const parts = rest.split(":");
  if (parts.length === 3 && hostIp === undefined) hostIp = parts.shift();
  if (parts.length > 2) return "expected [HOST_IP:][PUBLISHED:]CONTAINER[/PROTOCOL]";
  if (hostIp !== undefined && hostIp !== "127.0.0.1") return `host IP ${hostIp}: Ployz publishes ports on 127.0.0.1 only`;
  const [publishedText, containerText] = parts.length === 2 ? parts : [undefined, parts[0]!];
  const container = parsePortNumber(containerText ?? "");
  if (typeof container === "string") return container;
  if (!publishedText) return protocol ? { container, protocol } : { container };
  const published = parsePortNumber(publishedText);
  if (typeof published === "string") return published;
  return protocol ? { container, published, protocol } : { container, published };
}

function parsePortNumber(text: string): number | string {
  if (/^\d+-\d+$/.test(text)) return "port ranges are not supported";
  if (!/^\d+$/.test(text)) return `${show(text)} is not a port number`;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : `${port} is not a port 1–65535`;
}

export { splitShellWords };
