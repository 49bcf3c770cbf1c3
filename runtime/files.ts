import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { z } from "zod";
import { ConfigError, DataDirNotWritableError } from "../model/errors.ts";

/**
 * Writes a file atomically and durably, with the given mode (secrets use 0o600): a temp file,
 * fsynced, renamed over the target, and the directory fsynced, so after a power loss the file is
 * the old one or the new one, whole, never empty or half. `durable: false` leaves out the fsyncs
 * for a cache rewritten often (still whole or absent to a reader, but a power loss may lose it).
 */
export function writeFileAtomic(path: string, content: string, mode = 0o644, options: { durable?: boolean } = {}): void {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", mode);
  try {
    fchmodSync(fd, mode); // exactly `mode`, whatever the umask or a stale temp file said
    writeSync(fd, content);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (!durable) return;
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Reads and validates a JSON file; a missing file is `undefined`, a malformed one a ConfigError. */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>, what: string, hint: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${what} ${path}: ${(error as Error).message}`, { hint, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${what} ${path} is not valid JSON: ${(error as Error).message}`, { hint, cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new ConfigError(`${what} ${path} is invalid at ${at}: ${issue.message}`, { hint, cause: parsed.error });
  }
  return parsed.data;
}

/** Creates the data directory and proves it is writable, or says why not. */
export function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = `${dir}/.write-probe-${process.pid}`;
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new DataDirNotWritableError(`data directory ${dir} is not writable (${code}: ${(error as Error).message})`, {
      hint: "choose another with --data-dir, or fix its permissions",
      cause: error,
    });
  }
}
