import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "../../model/revision.ts";

/**
 * Proofs of holding an invite's secret without sending it. The joiner signs its request with an
 * HMAC-SHA256 over the request's canonical JSON (keys sorted); the inviter seals its answer with
 * AES-256-GCM under a key derived from the secret (HKDF-SHA256, salted with the invite id), so only
 * the holder of the token can read it and a spoofed listener cannot forge one.
 */

/** A new invite secret: 32 random bytes, base64url (43 characters). */
export function newInviteSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** sha256 of the secret, hex: what KV `invites` keeps. */
export function secretHash(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The proof of `message` under `secret` (base64url). */
export function proofOf(secret: string, message: Record<string, unknown>): string {
  return createHmac("sha256", secret).update(canonicalJson(message)).digest("base64url");
}

/** True when `mac` is the proof of `message` under `secret` (compared in constant time). */
export function proves(secret: string, message: Record<string, unknown>, mac: string): boolean {
  const expected = Buffer.from(proofOf(secret, message));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function replyKey(secret: string, invite: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret), Buffer.from(invite), Buffer.from("ployz join reply v1"), 32));
}

/** Seals `value` (as JSON) for the holder of the invite's secret. */
export function sealForJoiner(secret: string, invite: string, value: unknown): { type: "sealed"; iv: string; data: string; tag: string } {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", replyKey(secret, invite), iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return { type: "sealed", iv: iv.toString("base64url"), data: data.toString("base64url"), tag: cipher.getAuthTag().toString("base64url") };
}

/** Opens a sealed answer; throws when it was not sealed with this secret (a spoofed or altered answer). */
export function openSealed(secret: string, invite: string, sealed: { iv: string; data: string; tag: string }): unknown {
  const decipher = createDecipheriv("aes-256-gcm", replyKey(secret, invite), Buffer.from(sealed.iv, "base64url"));
  decipher.setAuthTag(Buffer.from(sealed.tag, "base64url"));
  const text = Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64url")), decipher.final()]).toString("utf8");
  return JSON.parse(text);
}
