import { ConversionLog, type Doc, type Path } from "./compose-conversion.ts";
import type { Lookup } from "./compose-interpolation.ts";
import { secretNameSchema } from "./manifest-container.ts";
import { show } from "./manifest-errors.ts";
import { MAX_SECRET_BYTES, secretVersion, type SecretValue } from "./service-secrets.ts";

/**
 * Compose secrets: a top-level secret's value comes from a file beside the Compose file or from
 * a variable; a service mounts it as a read-only file, by default `/run/secrets/<name>`. The
 * spec gets only the secret's name and version; the values are handed back to be stored in the
 * cluster's secret store before the deploy. Only secrets some deployed service uses are read.
 */

export interface SecretSourceOptions {
  namespace: string;
  lookup: Lookup;
  /** The bytes of a file beside the Compose file, or undefined (reported at `at`). */
  readBytes: (file: string, at: Path) => Uint8Array | undefined;
  /** The cluster's key for secret versions; without it a secret cannot be deployed. */
  key?: Uint8Array;
}

const SECRETS_DIR = "/run/secrets";

/** Top-level secrets, read on first use. */
export class SecretSources {
  private readonly resolved = new Map<string, SecretValue | null>();

  constructor(
    private readonly declared: Doc,
    private readonly log: ConversionLog,
    private readonly options: SecretSourceOptions,
  ) {
    for (const [name, def] of Object.entries(declared)) {
      const at = ["secrets", name];
      const secret = log.mapping(def, at, "a mapping with file: or environment:");
      if (secret) log.checkSection(secret, at, "secret");
    }
  }

  /** Every value some service uses, to be stored. */
  values(): SecretValue[] {
    return [...this.resolved.values()].filter((v): v is SecretValue => v !== null);
  }

  /** The version of secret `name`, reading its value the first time; undefined if it cannot be had (reported). */
  version(name: string, usedAt: Path): string | undefined {
    if (!this.resolved.has(name)) this.resolved.set(name, this.read(name, usedAt) ?? null);
    return this.resolved.get(name)?.version;
  }

  private read(name: string, usedAt: Path): SecretValue | undefined {
    if (!Object.hasOwn(this.declared, name)) return this.log.fail(usedAt, `secret ${show(name)} is not declared under top-level secrets:`);
    const at = ["secrets", name];
    const secret = this.declared[name];
    if (typeof secret !== "object" || secret === null || Array.isArray(secret)) return undefined; // reported in the constructor
    const def = secret as Doc;
    const named = secretNameSchema.safeParse(name);
    if (!named.success) return this.log.fail(at, named.error.issues[0]!.message);
    if ((def.file === undefined) === (def.environment === undefined)) return this.log.fail(at, "needs exactly one of file: or environment:");
    let value: Uint8Array | undefined;
    if (def.file !== undefined) {
      if (typeof def.file !== "string") return this.log.fail([...at, "file"], `expected a path, got ${show(def.file)}`);
      value = this.options.readBytes(def.file, [...at, "file"]);
    } else {
      if (typeof def.environment !== "string") return this.log.fail([...at, "environment"], `expected a variable name, got ${show(def.environment)}`);
      const text = this.options.lookup(def.environment);
      if (text === undefined) return this.log.fail([...at, "environment"], `variable ${def.environment} is not set: set it in your environment or in .env beside the Compose file`);
      value = new TextEncoder().encode(text);
    }
    if (!value) return undefined;
    if (value.byteLength > MAX_SECRET_BYTES) return this.log.fail(at, `is ${value.byteLength} bytes, over the ${MAX_SECRET_BYTES / 1024} KiB limit for a secret`);
    if (!this.options.key) return this.log.fail(at, "secrets are kept in the cluster's secret store: deploy this file with ployzctl deploy");
    return { namespace: this.options.namespace, name, version: secretVersion(this.options.key, this.options.namespace, name, value), value };
  }
}

/** A service's `secrets:` as Ployz secret mounts. */
export function serviceSecrets(raw: unknown, service: Path, log: ConversionLog, sources: SecretSources): Doc[] {
  return log.list(raw, [...service, "secrets"]).flatMap((item, i) => {
    const at = [...service, "secrets", i];
    const long: Doc | undefined = typeof item === "string" ? { source: item } : log.mapping(item, at, "a secret name or a mapping");
    if (!long) return [];
    if (typeof item !== "string") log.checkKeys(long, at, ["source", "target", "uid", "gid", "mode"]);
    const sourceAt = typeof item === "string" ? at : [...at, "source"];
    if (typeof long.source !== "string") return log.fail(sourceAt, long.source === undefined ? "is required" : `expected a secret name, got ${show(long.source)}`) ?? [];
    const version = sources.version(long.source, sourceAt);
    if (version === undefined) return [];
    const target = typeof long.target === "string" && !long.target.startsWith("/") ? `${SECRETS_DIR}/${long.target}` : (long.target ?? `${SECRETS_DIR}/${long.source}`);
    const uid = log.numericId(long.uid, [...at, "uid"]);
    const gid = log.numericId(long.gid, [...at, "gid"]);
    const mode = long.mode === undefined ? undefined : log.fileMode(long.mode, [...at, "mode"]);
    log.from([...service, "secrets", i], at, typeof item === "string");
    return [{ source: long.source, version, target, ...(uid === undefined ? {} : { uid }), ...(gid === undefined ? {} : { gid }), ...(mode === undefined ? {} : { mode }) }];
  });
}
