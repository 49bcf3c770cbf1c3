import { createHmac } from "node:crypto";
import { z } from "zod";

/**
 * Service secrets in KV `secrets`: each value is one record under
 * `svc.<namespace>.<secret>.<version>`, where the version is an HMAC of the value under the
 * cluster's own key (`svc-key`). So a spec names a secret's version without revealing anything
 * about its value, the same value always has the same version (a deploy that changes nothing
 * replaces nothing), a changed value replaces the containers, and a rollback finds the value
 * its commit used. Values never leave the store except into the container's file.
 */

/** The most a secret may hold (KV and the participant's memory, not a file store). */
export const MAX_SECRET_BYTES = 256 * 1024;

/** KV key of the cluster's HMAC key for secret versions. */
export const SECRET_VERSION_KEY = "svc-key";

/** KV key of one version of a service secret. */
export function serviceSecretKey(namespace: string, name: string, version: string): string {
  return `svc.${namespace}.${name}.${version}`;
}

/** The version of `value` as secret `name` of `namespace`, under the cluster's key. */
export function secretVersion(key: Uint8Array, namespace: string, name: string, value: Uint8Array): string {
  return createHmac("sha256", key).update(`${namespace}\0${name}\0`).update(value).digest("hex").slice(0, 32);
}

/** A secret value read at deploy time, to be stored before the deploy. */
export interface SecretValue {
  namespace: string;
  name: string;
  version: string;
  value: Uint8Array;
}

/** `svc-key`: 32 random bytes, created once by whoever stores the first secret. */
export const secretVersionKeyRecordSchema = z.object({ type: z.literal("secret-version-key"), key: z.string().min(40), createdAt: z.string() });
export type SecretVersionKeyRecord = z.infer<typeof secretVersionKeyRecordSchema>;

/** One stored secret value (base64). */
export const serviceSecretRecordSchema = z.object({
  type: z.literal("service-secret"),
  namespace: z.string(),
  name: z.string(),
  version: z.string(),
  value: z.string(),
  storedAt: z.string(),
});
export type ServiceSecretRecord = z.infer<typeof serviceSecretRecordSchema>;

/** Reads one version of a secret's value for a container, or throws a typed error naming it (never its value). */
export type SecretReader = (namespace: string, name: string, version: string) => Promise<Uint8Array>;
