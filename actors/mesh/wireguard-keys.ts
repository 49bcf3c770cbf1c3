import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError, InvalidArgumentError } from "../../model/errors.ts";

/** A WireGuard key pair as `wg genkey` / `wg pubkey` print them (32 bytes each, standard base64). */
export interface WireGuardKeyPair {
  privateKey: string;
  publicKey: string;
}

/** A new Curve25519 key pair, made in-process (no `wg` needed): what a machine's identity starts from. */
export function generateWireGuardKeyPair(): WireGuardKeyPair {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  const standard = (base64url: string) => Buffer.from(base64url, "base64url").toString("base64");
  return { privateKey: standard(jwk.d!), publicKey: standard(jwk.x!) };
}

/**
 * Makes a new key pair and writes the private key to `file` (mode 0600, refused if the file
 * exists: a machine's key is never silently replaced). Returns the public key.
 */
export function createWireGuardKeyFile(file: string): string {
  const pair = generateWireGuardKeyPair();
  writeFileSync(file, `${pair.privateKey}\n`, { mode: 0o600, flag: "wx" });
  return pair.publicKey;
}

/** PKCS#8 DER prefix of an X25519 private key (RFC 8410), before its 32 raw bytes. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a private key as `wg pubkey` computes it. */
export function wireGuardPublicKey(privateKey: string): string {
  const raw = Buffer.from(privateKey.trim(), "base64");
  if (raw.length !== 32) throw new InvalidArgumentError("a WireGuard private key is 32 bytes in base64");
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  return Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url").toString("base64");
}

/**
 * This machine's WireGuard key: read from `file` (refused unless mode 0600), or made there on first
 * start. Returns the public key.
 */
export function loadOrCreateWireGuardKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigError(`cannot read the WireGuard key ${file}: ${(error as Error).message}`, { cause: error });
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    return createWireGuardKeyFile(file);
  }
  if ((statSync(file).mode & 0o077) !== 0) throw new ConfigError(`the WireGuard key ${file} is readable by others`, { hint: `chmod 600 ${file}` });
  try {
    return wireGuardPublicKey(text);
  } catch (error) {
    throw new ConfigError(`the WireGuard key ${file} is not a WireGuard private key`, { hint: "restore it; a machine that lost its key must join again as a new machine", cause: error });
  }
}
