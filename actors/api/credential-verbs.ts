import type { KV } from "@nats-io/kv";
import {
  createCredentialRequestSchema,
  revokeCredentialRequestSchema,
  summarizeCredential,
  type CredentialRecord,
} from "../../model/credentials.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { createCredential, readCredentials, revokeCredential } from "../store/credentials.ts";

export interface CredentialVerbDeps {
  credentials: KV;
  machineId: string;
  /**
   * Resolves once this record, as stored, is in effect on this machine's nats-server: the
   * `access` actor (on every machine) puts each change of KV credentials into effect.
   */
  whenApplied: (record: CredentialRecord) => Promise<void>;
  now?: () => Date;
}

/**
 * `credentials.create`, `credentials.ls`, `credentials.revoke` (the operator role only: NATS
 * refuses the others). A created or revoked credential is in effect on the machine that answered
 * before the answer; the other machines follow KV credentials.
 */
export function credentialVerbs(deps: CredentialVerbDeps): Record<string, (body: unknown) => Promise<unknown>> {
  const now = deps.now ?? (() => new Date());
  return {
    "credentials.create": async (body) => {
      const request = parseRequest(createCredentialRequestSchema, body, "credentials.create");
      const at = now();
      const record: CredentialRecord = {
        type: "credential",
        name: request.name,
        role: request.role,
        publicKey: request.publicKey,
        createdAt: at.toISOString(),
        createdBy: `operator via ${deps.machineId}`,
        ...(request.expiresInMs ? { expiresAt: new Date(at.getTime() + request.expiresInMs).toISOString() } : {}),
      };
      await createCredential(deps.credentials, record);
      await deps.whenApplied(record);
      return { type: "credential-created", credential: summarizeCredential(record, at.getTime()) };
    },
    "credentials.ls": async () => {
      const at = now().getTime();
      const { credentials, invalid } = await readCredentials(deps.credentials);
      return { type: "credentials", credentials: credentials.map((r) => summarizeCredential(r, at)), invalid };
    },
    "credentials.revoke": async (body) => {
      const request = parseRequest(revokeCredentialRequestSchema, body, "credentials.revoke");
      const record = await revokeCredential(deps.credentials, request.name, `operator via ${deps.machineId}`, now());
      await deps.whenApplied(record);
      return { type: "credential-revoked", credential: summarizeCredential(record, now().getTime()) };
    },
  };
}
