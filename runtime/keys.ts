import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createUser } from "@nats-io/nkeys";
import { ConfigError } from "../model/errors.ts";
import { writeFileAtomic } from "./files.ts";
import { nkeySigner } from "./nats/nkey-signer.ts";

/** A NATS user identity: the seed stays in a 0600 file, the public key goes into configs. */
export interface NatsIdentity {
  seedFile: string;
  publicKey: string;
  seed: Uint8Array;
}

/** Reads the identity in `seedFile`, creating a new one (mode 0600) if there is none. */
export function loadOrCreateIdentity(seedFile: string): NatsIdentity {
  try {
    return readIdentity(seedFile);
  } catch (error) {
    if (!(error instanceof ConfigError) || !error.message.includes("does not exist")) throw error;
  }
  const pair = createUser();
  writeFileAtomic(seedFile, `${new TextDecoder().decode(pair.getSeed())}\n`, 0o600);
  return readIdentity(seedFile);
}

/** Reads an existing identity; a missing or malformed seed file is a ConfigError. */
export function readIdentity(seedFile: string): NatsIdentity {
  let text: string;
  try {
    text = readFileSync(seedFile, "utf8").trim();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new ConfigError(`NATS key ${seedFile} ${missing ? "does not exist" : `cannot be read: ${(error as Error).message}`}`, {
      hint: "run `ployzctl dev up` again, or check the data directory",
      cause: error,
    });
  }
  try {
    const seed = new TextEncoder().encode(text);
    const { publicKey } = nkeySigner(seed);
    if (!publicKey.startsWith("U")) throw new Error(`a ${publicKey[0]} key, not a user key`);
    return { seedFile, publicKey, seed };
  } catch (error) {
    throw new ConfigError(`NATS key ${seedFile} is not a valid user seed`, {
      hint: "restore it from a backup; a machine that lost its key must join again as a new machine",
      cause: error,
    });
  }
}

/**
 * A secret kept in a 0600 file (a password, the leaf secret): read it, or write `make()` there on
 * first use. A file readable by others is refused.
 */
export function loadOrCreateSecret(file: string, make: () => string = () => randomBytes(32).toString("base64url")): string {
  const existing = readSecret(file);
  if (existing !== undefined) return existing;
  const secret = make();
  writeFileAtomic(file, `${secret}\n`, 0o600);
  return secret;
}

/** The secret in a 0600 file, or undefined when there is none. */
export function readSecret(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  if ((statSync(file).mode & 0o077) !== 0) throw new ConfigError(`${file} holds a secret and is readable by others`, { hint: `chmod 600 ${file}` });
  if (text === "") throw new ConfigError(`${file} is empty`, { hint: "restore it from a backup" });
  return text;
}
