import { posix } from "node:path";
import { containerFields } from "./compose-container.ts";
import { ConversionLog, isRecord, type Doc, type Path } from "./compose-conversion.ts";
import { envFromFiles } from "./compose-env-file.ts";
import { interpolate, InterpolationError, type Lookup } from "./compose-interpolation.ts";
import { serviceConfigs, topLevelConfigs, type DeclaredConfig } from "./compose-configs.ts";
import { deployFields } from "./compose-deploy.ts";
import { healthcheckFields } from "./compose-healthcheck.ts";
import { serviceNetworks, topLevelNetworks } from "./compose-networks.ts";
import { servicePorts } from "./compose-ports.ts";
import { serviceTmpfs, serviceVolumes, topLevelVolumes, type DeclaredVolume } from "./compose-volumes.ts";
import { SecretSources, serviceSecrets } from "./compose-secrets.ts";
import { NotFoundError } from "./errors.ts";
import { namespaceSpecSchema, type NamespaceSpec, type NamespaceSpecInput } from "./manifest.ts";
import { issuesFromZod, manifestError, show } from "./manifest-errors.ts";
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

const COMPOSE_FILE_NAME = /^(docker-)?compose\.ya?ml$/;

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
    const { volumes, declared } = topLevelVolumes(doc.volumes, log);
    const configs = topLevelConfigs(doc.configs, log, { lookup: this.lookup, readText: (file, at) => this.readSideFile(file, at, "text") });
    this.secrets = new SecretSources(log.mapping(doc.secrets, ["secrets"], "a mapping of secrets") ?? {}, log, {
      namespace: String(namespace ?? ""),
      lookup: this.lookup,
      readBytes: (file, at) => this.readSideFile(file, at, "bytes"),
      ...(this.options.secretKey ? { key: this.options.secretKey } : {}),
    });
    const networks = topLevelNetworks(doc.networks, log);
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
    out.ports = servicePorts(service.ports, service.expose, at, log);
    const mounts = serviceVolumes(service.volumes, at, context.declared, this.options.baseDir, log);
    out.volumes = mounts.volumes;
    const tmpfs = [...serviceTmpfs(service.tmpfs, at, log), ...mounts.tmpfs];
    if (tmpfs.length > 0) {
      out.tmpfs = tmpfs.map((t, i) => {
        log.from([...at, "tmpfs", i], t.at, t.opaque);
        // A long-syntax tmpfs volume keeps size and mode under tmpfs:.
        if (!t.opaque) for (const key of ["size", "mode"]) log.from([...at, "tmpfs", i, key], [...t.at, "tmpfs", key]);
        return t.mount;
      });
    }
    out.configs = serviceConfigs(service.configs, at, context.configs, log);
    if (service.secrets !== undefined) out.secrets = serviceSecrets(service.secrets, at, log, this.secrets!);
    Object.assign(out, containerFields(service, at, log));
    if (service.scale !== undefined) {
      out.replicas = service.scale;
      log.from([...at, "replicas"], [...at, "scale"]);
    }
    if (service.deploy !== undefined) Object.assign(out, deployFields(service.deploy, at, service.scale, log));
    if (service.healthcheck !== undefined) Object.assign(out, healthcheckFields(service.healthcheck, at, log));
    if (service.depends_on !== undefined) out.dependsOn = this.dependsOn(service.depends_on, at, context);
    if (service.networks !== undefined) serviceNetworks(service.networks, at, context.networks, log);
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

export { parseComposeBytes } from "./compose-deploy.ts";
export { splitShellWords };
