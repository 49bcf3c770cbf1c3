import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { InvalidStateError } from "../../model/errors.ts";
import type { ServiceSpec } from "../../model/manifest.ts";
import { shortHash } from "../../model/revision.ts";
import type { SecretReader } from "../../model/service-secrets.ts";
import { writeMountFile } from "./mount-files.ts";

/**
 * Fetches a service's secrets from the cluster's secret store and writes each to a file under
 * `dir` (mode 0700, so only ployzd's user reaches them on the machine), with the mode and owner
 * the spec asks for; returns the read-only binds that mount them. Values go nowhere else.
 */
export async function secretBinds(dir: string, namespace: string, spec: ServiceSpec, readSecret: SecretReader | undefined): Promise<string[]> {
  const secrets = spec.secrets ?? [];
  if (secrets.length === 0) return [];
  if (!readSecret) throw new InvalidStateError("this participant has no access to the cluster's secret store, so it cannot start a service with secrets");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const binds: string[] = [];
  for (const secret of secrets) {
    const value = await readSecret(namespace, secret.source, secret.version);
    const file = join(dir, shortHash(secret.target, 16));
    writeMountFile(file, value, secret);
    binds.push(`${file}:${secret.target}:ro`);
  }
  return binds;
}
