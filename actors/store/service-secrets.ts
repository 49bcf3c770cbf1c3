import { parseJsonOrUndefined } from "../../model/json.ts";
import { randomBytes } from "node:crypto";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { InvalidStateError, NotFoundError } from "../../model/errors.ts";
import {
  SECRET_VERSION_KEY,
  secretVersionKeyRecordSchema,
  serviceSecretKey,
  serviceSecretRecordSchema,
  type SecretReader,
  type SecretValue,
  type SecretVersionKeyRecord,
  type ServiceSecretRecord,
} from "../../model/service-secrets.ts";

/**
 * Service secrets in KV `secrets` (model/service-secrets.ts has the layout). Errors name the
 * namespace, secret and version, never a value.
 */

const isWrongLastSequence = (error: unknown) => error instanceof JetStreamApiError && error.code === 10071;

/** The cluster's key for secret versions; the first caller creates it, racing callers all get the winner's. */
export async function secretVersionKey(secrets: KV, now: Date = new Date()): Promise<Uint8Array> {
  const existing = await readVersionKey(secrets);
  if (existing) return existing;
  const record: SecretVersionKeyRecord = { type: "secret-version-key", key: randomBytes(32).toString("base64"), createdAt: now.toISOString() };
  try {
    await secrets.create(SECRET_VERSION_KEY, JSON.stringify(record));
    return Buffer.from(record.key, "base64");
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const winner = await readVersionKey(secrets);
    if (!winner) throw new InvalidStateError(`KV secrets, key ${SECRET_VERSION_KEY}: was created by another writer but cannot be read back`, { cause: error });
    return winner;
  }
}

async function readVersionKey(secrets: KV): Promise<Uint8Array | undefined> {
  const entry = await secrets.get(SECRET_VERSION_KEY);
  if (!entry || entry.operation !== "PUT") return undefined;
  const parsed = secretVersionKeyRecordSchema.safeParse(parseJsonOrUndefined(entry.string()));
  if (!parsed.success) throw new InvalidStateError(`KV secrets, key ${SECRET_VERSION_KEY}: is not a secret version key record`);
  return Buffer.from(parsed.data.key, "base64");
}

/** Stores each value under its version (idempotent: a version always holds the same value). */
export async function storeServiceSecrets(secrets: KV, values: readonly SecretValue[], now: Date = new Date()): Promise<void> {
  for (const secret of values) {
    const key = serviceSecretKey(secret.namespace, secret.name, secret.version);
    const existing = await secrets.get(key);
    if (existing?.operation === "PUT") continue;
    const record: ServiceSecretRecord = {
      type: "service-secret",
      namespace: secret.namespace,
      name: secret.name,
      version: secret.version,
      value: Buffer.from(secret.value).toString("base64"),
      storedAt: now.toISOString(),
    };
    await secrets.put(key, JSON.stringify(record));
  }
}

/** A reader for participants: one version of one secret, or NotFoundError naming it. */
export function serviceSecretReader(secrets: KV): SecretReader {
  return async (namespace, name, version) => {
    const key = serviceSecretKey(namespace, name, version);
    const entry = await secrets.get(key);
    if (!entry || entry.operation !== "PUT") {
      throw new NotFoundError(`secret "${name}" (version ${version}) of namespace ${namespace} is not in the cluster's secret store`, {
        hint: "deploy the Compose file again with ployzctl deploy, which stores its secrets first",
      });
    }
    const parsed = serviceSecretRecordSchema.safeParse(parseJsonOrUndefined(entry.string()));
    if (!parsed.success || parsed.data.version !== version) throw new InvalidStateError(`KV secrets, key ${key}: is not a service secret record`);
    return Buffer.from(parsed.data.value, "base64");
  };
}
