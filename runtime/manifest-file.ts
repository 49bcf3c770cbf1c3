import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { parseDocument, type ScalarTag } from "yaml";
import { composeToSpec, isComposeDocument, profilesFromEnvironment } from "../model/compose.ts";
import { EnvFileError, parseEnvFile } from "../model/dotenv.ts";
import { ManifestError, NotFoundError } from "../model/errors.ts";
import { MAX_MANIFEST_BYTES, namespaceSpecSchema, type NamespaceSpec } from "../model/manifest.ts";
import { manifestError, parseManifestDocument, show } from "../model/manifest-errors.ts";
import type { SecretValue } from "../model/service-secrets.ts";

/**
 * Reads a deploy file from disk — a Ployz manifest or a Compose file, as YAML or JSON — into a
 * validated NamespaceSpec. Sizes are checked before anything is parsed. For a Compose file, the
 * variables come from the environment over the `.env` beside it, and the files it refers to
 * (configs, secrets, env_file) are read only from beside it.
 */

export type ManifestFormat = "ployz" | "compose";

export interface LoadedManifest {
  spec: NamespaceSpec;
  format: ManifestFormat;
  /** Absolute path of the file read. */
  file: string;
  /** Secret values a Compose file gives, to be stored in the cluster before deploying the spec. */
  secrets: SecretValue[];
}

export interface LoadOptions {
  /** `-n`: names a Compose file's namespace; must match a Ployz manifest's. */
  namespace?: string;
  /** `--profile`: Compose profiles to deploy (else COMPOSE_PROFILES). */
  profiles?: readonly string[];
  /** The environment variables are interpolated from (default: this process's). */
  environment?: NodeJS.ProcessEnv;
  /** The cluster's key for secret versions; asked for only when the Compose file declares secrets. */
  secretKey?: () => Promise<Uint8Array>;
}

export interface ManifestTextOptions {
  /** Named in messages; `.json` is parsed as JSON, anything else as YAML. */
  fileName: string;
  /** Absolute directory that relative paths in a Compose file resolve from. */
  baseDir: string;
  /** `-n`: names a Compose file's namespace; must match a Ployz manifest's. */
  namespace?: string;
  /** A file beside a Compose file by absolute path; throws to refuse (NotFoundError when missing). */
  readFile?: (path: string) => Uint8Array | string;
  /** Variables for a Compose file's interpolation. */
  environment?: Record<string, string | undefined>;
  /** Compose profiles to deploy. */
  profiles?: readonly string[];
  /** The cluster's key for secret versions. */
  secretKey?: Uint8Array;
}

/** The most a file beside a Compose file (config, secret, env_file, .env) may hold: the limit on a config's content. */
export const MAX_CONFIG_FILE_BYTES = 256 * 1024;
/** Aliases a YAML document may expand; more is a "billion laughs" bomb, not a manifest. */
const MAX_YAML_ALIASES = 100;

/** YAML 1.1 octal (`mode: 0440`), which Compose files use and YAML 1.2 would read as decimal 440. */
const legacyOctal: ScalarTag = {
  identify: () => false,
  default: true,
  tag: "tag:yaml.org,2002:int",
  test: /^0[0-7]+$/,
  resolve: (text) => Number.parseInt(text, 8),
};

/** Reads, parses and validates a manifest or Compose file. */
export async function loadManifestFile(path: string, options: LoadOptions = {}): Promise<LoadedManifest> {
  const file = resolve(path);
  const text = await readTextFile(file, MAX_MANIFEST_BYTES, "a manifest").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`${path}: no such file`, { cause: error });
    throw new ManifestError(`${path}: ${(error as Error).message}`, { cause: error });
  });
  const doc = parseManifestSyntax(text, path);
  const baseDir = dirname(file);
  const namespace = options.namespace === undefined ? {} : { namespace: options.namespace };
  if (!isComposeDocument(doc, path)) return { ...specFromDocument(doc, { fileName: path, baseDir, ...namespace }), file, secrets: [] };
  const environment = composeEnvironment(baseDir, path, options.environment ?? process.env);
  const profiles = options.profiles?.length ? options.profiles : profilesFromEnvironment(environment.COMPOSE_PROFILES);
  const readFile = (sidePath: string) => readSideFile(sidePath, baseDir);
  const convert = (secretKey: Uint8Array | undefined) =>
    composeToSpec(doc, { fileName: path, baseDir, readFile, environment, profiles, ...namespace, ...(secretKey ? { secretKey } : {}) });
  const declaresSecrets = typeof doc.secrets === "object" && doc.secrets !== null && Object.keys(doc.secrets).length > 0;
  if (!declaresSecrets || !options.secretKey) return { ...convert(undefined), format: "compose", file };
  // Every problem is found with a throwaway key first, so a bad file is reported without asking the cluster;
  // then the versions are made with the cluster's key.
  const { secrets } = convert(randomBytes(32));
  if (secrets.length === 0) return { ...convert(undefined), format: "compose", file };
  return { ...convert(await options.secretKey()), format: "compose", file };
}

/** Parses and validates manifest text without touching the disk (files come from the callback). */
export function parseManifestText(text: string, options: ManifestTextOptions): { spec: NamespaceSpec; format: ManifestFormat; secrets: SecretValue[] } {
  const doc = parseManifestSyntax(text, options.fileName);
  if (!isComposeDocument(doc, options.fileName)) return { ...specFromDocument(doc, options), secrets: [] };
  const { spec, secrets } = composeToSpec(doc, options);
  return { spec, secrets, format: "compose" };
}

/**
 * The variables a Compose file is interpolated with: the environment over the `.env` beside the
 * file (a missing .env is simply none; an unreadable or malformed one is an error).
 */
export function composeEnvironment(baseDir: string, fileName: string, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readBoundedFileSync(join(baseDir, ".env"), MAX_CONFIG_FILE_BYTES, ".env"));
  } catch (error) {
    if (error instanceof NotFoundError) return { ...env };
    throw new ManifestError(`${join(dirname(fileName), ".env")}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return { ...parseEnvFile(text, (name) => env[name]), ...env };
  } catch (error) {
    if (error instanceof EnvFileError) throw new ManifestError(`${join(dirname(fileName), ".env")}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** YAML or JSON text as plain data: a mapping at the top, or a ManifestError with line and column. */
export function parseManifestSyntax(text: string, fileName: string): Record<string, unknown> {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_MANIFEST_BYTES) throw new ManifestError(`${fileName}: ${tooBig(bytes, MAX_MANIFEST_BYTES, "a manifest")}`);
  const source = text.replace(/^\uFEFF/, "");
  const doc = fileName.endsWith(".json") ? parseJson(source, fileName) : parseYaml(source, fileName);
  if (doc === null || doc === undefined) throw new ManifestError(`${fileName}: is empty`, { hint: "a manifest starts with namespace: and services:" });
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new ManifestError(`${fileName}: must be a mapping (namespace:, services:, …) at the top, not ${show(doc)}`);
  }
  return doc as Record<string, unknown>;
}

function specFromDocument(doc: unknown, options: ManifestTextOptions): { spec: NamespaceSpec; format: ManifestFormat } {
  const spec = parseManifestDocument(namespaceSpecSchema, doc, options.fileName);
  if (options.namespace !== undefined && options.namespace !== spec.namespace) {
    throw manifestError(options.fileName, [{ path: ["namespace"], message: `is "${spec.namespace}", but -n says "${options.namespace}"` }]);
  }
  return { spec, format: "ployz" };
}

function parseYaml(text: string, fileName: string): unknown {
  const doc = parseDocument(text, {
    merge: true,
    stringKeys: true,
    uniqueKeys: true,
    prettyErrors: true,
    customTags: (tags) => [legacyOctal, ...tags],
  });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => {
      const at = error.linePos?.[0];
      const what = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      return { path: [], message: at ? `line ${at.line}, column ${at.col}: ${what}` : what };
    });
    throw manifestError(fileName, issues, { cause: doc.errors[0] });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ManifestError(`${fileName}: its YAML aliases expand too far (more than ${MAX_YAML_ALIASES} uses); refusing it as a resource-exhaustion attempt`, { cause: error });
    }
    throw new ManifestError(`${fileName}: ${(error as Error).message}`, { cause: error });
  }
}

function parseJson(text: string, fileName: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    if (!position) throw new ManifestError(`${fileName}: not valid JSON: ${message}`, { cause: error });
    const before = text.slice(0, Number(position[1])).split("\n");
    const where = `line ${before.length}, column ${before.at(-1)!.length + 1}`;
    throw new ManifestError(`${fileName}: ${where}: not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`, { cause: error });
  }
}

/**
 * A file beside a Compose file: its real path must stay inside baseDir, so a symlink cannot lead
 * out. Read synchronously (the conversion is synchronous), size checked before a byte is read.
 */
function readSideFile(path: string, baseDir: string): Uint8Array {
  let real: string;
  let realBase: string;
  try {
    [real, realBase] = [realpathSync(path), realpathSync(baseDir)];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError("no such file", { cause: error });
    throw new Error((error as Error).message, { cause: error });
  }
  if (!real.startsWith(realBase + sep)) throw new Error(`it leads (through a symlink) to ${real}, outside the Compose file's directory`);
  return readBoundedFileSync(real, MAX_CONFIG_FILE_BYTES, "a file beside a Compose file", constants.O_NOFOLLOW);
}

/** A regular file's bytes; NotFoundError when it does not exist. */
function readBoundedFileSync(path: string, limit: number, what: string, flags = 0): Uint8Array {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not hang waiting for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError("no such file", { cause: error });
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(stat.isDirectory() ? "is a directory" : "is not a regular file");
    if (stat.size > limit) throw new Error(tooBig(stat.size, limit, what));
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw new Error(tooBig(length, limit, what));
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** A regular file as UTF-8 text; its size is checked before a byte is read, and again while reading. */
async function readTextFile(path: string, limit: number, what: string, flags = 0): Promise<string> {
  // O_NONBLOCK: opening a FIFO must not hang waiting for a writer.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | flags);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(stat.isDirectory() ? "is a directory" : "is not a regular file");
    if (stat.size > limit) throw new Error(tooBig(stat.size, limit, what));
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw new Error(tooBig(length, limit, what));
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, length));
    } catch (error) {
      throw new Error("is not UTF-8 text", { cause: error });
    }
  } finally {
    await handle.close();
  }
}

function tooBig(size: number, limit: number, what: string): string {
  return `is ${formatBytes(size)} (${size} bytes), over the ${formatBytes(limit)} (${limit} bytes) limit for ${what}`;
}

function formatBytes(bytes: number): string {
  const [value, unit] = bytes >= 1024 ** 2 ? [bytes / 1024 ** 2, "MiB"] : bytes >= 1024 ? [bytes / 1024, "KiB"] : [bytes, "bytes"];
  return `${Number(value.toFixed(1))} ${unit}`;
}
