import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";

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
