import { z } from "zod";
import { nameSchema } from "./names.ts";
import type { MachineRecord } from "./machine.ts";
import { CREDENTIAL_ROLES, type Identity } from "./roles.ts";

/**
 * Credentials handed to a person or an agent (`ployzctl credentials create NAME --role R`): an nkey
 * made on the operator's side, whose public half is kept in KV `credentials` (key = name) with its
 * role. Every machine's nats-server admits the credentials that are neither expired nor revoked,
 * with the permissions of their role (model/roles.ts); a revoked one is refused from the next
 * reload on, and a connection it holds is closed. Names are never reused: a revoked credential
 * stays listed.
 */

/** The local operator of each machine is `local-<machine>`: credentials cannot take such a name. */
export const LOCAL_OPERATOR_PREFIX = "local-";
export const localOperatorName = (machineId: string) => `${LOCAL_OPERATOR_PREFIX}${machineId}`;

export const credentialNameSchema = nameSchema("credential name").refine((name) => !name.startsWith(LOCAL_OPERATOR_PREFIX), {
  message: `credential names starting with "${LOCAL_OPERATOR_PREFIX}" are the machines' own operators`,
});

/** A public nkey of a user: `U` and 55 more base32 characters. */
export const userNkeySchema = z.string().regex(/^U[A-Z2-7]{55}$/, "must be a user nkey (U…, 56 characters)");

export const credentialRecordSchema = z.strictObject({
  type: z.literal("credential"),
  name: credentialNameSchema,
  role: z.enum(CREDENTIAL_ROLES),
  publicKey: userNkeySchema,
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedBy: z.string().optional(),
});
export type CredentialRecord = z.infer<typeof credentialRecordSchema>;

/** The longest a credential may live: a year (one that must live longer is made again). */
export const MAX_CREDENTIAL_LIFETIME_MS = 366 * 24 * 3600_000;

export type CredentialState = "active" | "expired" | "revoked";

export function credentialState(record: CredentialRecord, now: number): CredentialState {
  if (record.revokedAt) return "revoked";
  if (record.expiresAt && Date.parse(record.expiresAt) <= now) return "expired";
  return "active";
}

/** The identities the credentials give now: active ones only. */
export function credentialIdentities(records: Iterable<CredentialRecord>, now: number): Identity[] {
  return [...records].filter((r) => credentialState(r, now) === "active").map((r) => ({ nkey: r.publicKey, role: r.role, name: r.name }));
}

/**
 * Everyone a machine's nats-server admits now: its own identities (`base`: the machine and its
 * local operator), the other active members (machine role; a removed machine's key never again),
 * and the credentials in force. A key that would have two identities keeps the first (the base, a
 * member) and the conflict is reported, never resolved by giving it both.
 */
export function admittedIdentities(base: readonly Identity[], members: readonly MachineRecord[], credentials: Iterable<CredentialRecord>, now: number): { identities: Identity[]; conflicts: string[] } {
  const identities: Identity[] = [];
  const conflicts: string[] = [];
  const byKey = new Map<string, Identity>();
  const admit = (identity: Identity) => {
    const seen = byKey.get(identity.nkey);
    if (!seen) {
      byKey.set(identity.nkey, identity);
      identities.push(identity);
    } else if (seen.role !== identity.role || seen.name !== identity.name) {
      conflicts.push(`${identity.role} ${identity.name} has the key of ${seen.role} ${seen.name}: not admitted`);
    }
  };
  base.forEach(admit);
  const removed = new Set(members.filter((m) => m.state === "removed").map((m) => m.natsUser));
  for (const m of members) if (m.state === "active" && !removed.has(m.natsUser)) admit({ nkey: m.natsUser, role: "machine", name: m.id });
  for (const c of credentialIdentities(credentials, now)) {
    if (removed.has(c.nkey)) conflicts.push(`credential ${c.name} has the key of a removed machine: not admitted`);
    else admit(c);
  }
  return { identities, conflicts };
}

/** When the next active credential expires (a reload is due then), if any does. */
export function nextExpiry(records: Iterable<CredentialRecord>, now: number): number | undefined {
  let next: number | undefined;
  for (const r of records) {
    if (credentialState(r, now) !== "active" || !r.expiresAt) continue;
    const at = Date.parse(r.expiresAt);
    if (next === undefined || at < next) next = at;
  }
  return next;
}

/** `credentials.create` request: the public key only — the seed never leaves the operator. */
export const createCredentialRequestSchema = z.strictObject({
  name: credentialNameSchema,
  role: z.enum(CREDENTIAL_ROLES),
  publicKey: userNkeySchema,
  expiresInMs: z.number().int().positive().max(MAX_CREDENTIAL_LIFETIME_MS).optional(),
});
export type CreateCredentialRequest = z.infer<typeof createCredentialRequestSchema>;

export const revokeCredentialRequestSchema = z.strictObject({ name: credentialNameSchema });

/** One credential as `credentials ls` shows it (the public key's start only). */
export interface CredentialSummary {
  name: string;
  role: CredentialRecord["role"];
  state: CredentialState;
  publicKey: string;
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  revokedAt?: string;
}

export function summarizeCredential(record: CredentialRecord, now: number): CredentialSummary {
  return {
    name: record.name,
    role: record.role,
    state: credentialState(record, now),
    publicKey: `${record.publicKey.slice(0, 12)}…`,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
  };
}

const summarySchema = z.object({
  name: z.string(),
  role: z.enum(CREDENTIAL_ROLES),
  state: z.enum(["active", "expired", "revoked"]),
  publicKey: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
});
export const credentialCreatedSchema = z.object({ type: z.literal("credential-created"), credential: summarySchema });
export const credentialRevokedSchema = z.object({ type: z.literal("credential-revoked"), credential: summarySchema });
export const credentialListSchema = z.object({
  type: z.literal("credentials"),
  credentials: z.array(summarySchema),
  invalid: z.array(z.object({ key: z.string(), error: z.string() })),
});
export type CredentialList = z.infer<typeof credentialListSchema>;

/**
 * What `ployzctl credentials create` prints: everything another person or agent needs to connect,
 * private key included (it never went through the cluster). `ployzctl context import` reads it.
 */
export const credentialFileSchema = z.strictObject({
  type: z.literal("ployz-credentials"),
  name: credentialNameSchema,
  role: z.enum(CREDENTIAL_ROLES),
  servers: z.array(z.string().regex(/^nats:\/\//, "must be a nats:// URL")).min(1),
  machineId: z.string().min(1),
  seed: z.string().regex(/^SU[A-Z2-7]{56}$/, "must be a user nkey seed (SU…)"),
  expiresAt: z.string().optional(),
});
export type CredentialFile = z.infer<typeof credentialFileSchema>;
