import { z } from "zod";
import { machineRecordSchema } from "./machine.ts";
import { machineIdSchema, regionNameSchema } from "./names.ts";

/**
 * Joining a machine (`ployzctl machine invite` → `ployzd join TOKEN`): the token carries what the
 * joiner needs to reach the machine that invited it — the inviter's join address on the underlay,
 * its WireGuard key, the cluster id — and a one-time secret. The secret itself never travels again:
 * the joiner proves it holds it with an HMAC over its request, and the inviter's answer is sealed
 * with a key derived from it (AES-256-GCM), so a forged or altered token, a replayed request and a
 * spoofed answer all fail. The joiner's identities (WireGuard key, NATS nkey) are made on the
 * joiner; only their public halves travel. KV `invites` records each invite (its secret's hash,
 * where the machine goes, expiry, who used it): single use by compare-and-set.
 */

export const TOKEN_PREFIX = "ployz-invite-1.";
/** How long an invite lasts unless told otherwise, and at most. */
export const DEFAULT_INVITE_TTL_MS = 10 * 60_000;
export const MAX_INVITE_TTL_MS = 7 * 24 * 3600_000;

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/);
const hex16 = z.string().regex(/^[0-9a-f]{16}$/);
const wireGuardKey = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "must be a WireGuard public key");

export const inviteTokenSchema = z.strictObject({
  cluster: hex16,
  invite: hex16,
  /** 32 random bytes, base64url. */
  secret: base64url.length(43),
  inviter: machineIdSchema,
  /** The inviter's WireGuard public key (its overlay address derives from it). */
  inviterKey: wireGuardKey,
  /** Where the inviter listens for this join: its underlay address, `host:port` (TCP). */
  join: z.string().min(3),
  expiresAt: z.string(),
});
export type InviteToken = z.infer<typeof inviteTokenSchema>;

export function encodeInviteToken(token: InviteToken): string {
  return `${TOKEN_PREFIX}${Buffer.from(JSON.stringify(inviteTokenSchema.parse(token))).toString("base64url")}`;
}

/** The token's content, or why it is not a Ployz invite token (never echoes the secret). */
export function decodeInviteToken(text: string): { token: InviteToken } | { error: string } {
  const trimmed = text.trim();
  if (!trimmed.startsWith(TOKEN_PREFIX)) return { error: `not a Ployz invite token (one starts with ${TOKEN_PREFIX})` };
  const body = trimmed.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return { error: "the invite token is damaged (not base64url): copy it again, whole" };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch (error) {
    return { error: `the invite token is damaged (${error instanceof Error ? error.message : String(error)}): copy it again, whole` };
  }
  const parsed = inviteTokenSchema.safeParse(json);
  if (!parsed.success) return { error: `the invite token is damaged (${parsed.error.issues[0]!.path.join(".") || "content"}): copy it again, whole` };
  return { token: parsed.data };
}

/** KV `invites`, key = invite id. */
export const inviteRecordSchema = z.strictObject({
  type: z.literal("invite"),
  id: hex16,
  /** sha256 of the secret, hex: enough to recognise it, useless to join with. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** The machine that serves this join (its join listener is open while the invite is outstanding). */
  inviter: machineIdSchema,
  region: regionNameSchema,
  zone: regionNameSchema.optional(),
  storage: z.boolean(),
  createdAt: z.string(),
  expiresAt: z.string(),
  usedAt: z.string().optional(),
  usedBy: z.string().optional(),
});
export type InviteRecord = z.infer<typeof inviteRecordSchema>;

/** Why an invite cannot be used now, or undefined when it can. */
export function inviteRefusal(record: InviteRecord, now: number): string | undefined {
  if (record.usedAt) return `invite ${record.id} was already used (by machine ${record.usedBy ?? "?"} at ${record.usedAt}): an invite is good for one machine; ask for a new one (\`ployzctl machine invite\`)`;
  if (Date.parse(record.expiresAt) <= now) return `invite ${record.id} expired at ${record.expiresAt}: ask for a new one (\`ployzctl machine invite\`)`;
  return undefined;
}

/** Invites of `inviter` that can still be used at `now`: what keeps its join listener open. */
export function outstandingInvites(records: Iterable<InviteRecord>, inviter: string, now: number): InviteRecord[] {
  return [...records].filter((r) => r.inviter === inviter && inviteRefusal(r, now) === undefined);
}

/** `ployz.api.machine.invite`. */
export const inviteRequestSchema = z.strictObject({
  region: regionNameSchema.optional(),
  zone: regionNameSchema.optional(),
  storage: z.boolean().default(false),
  ttlMs: z.number().int().positive().max(MAX_INVITE_TTL_MS).optional(),
});
export type InviteRequest = z.input<typeof inviteRequestSchema>;
export const inviteReplySchema = z.object({
  type: z.literal("invite"),
  token: z.string(),
  invite: z.string(),
  inviter: z.string(),
  join: z.string(),
  region: z.string(),
  zone: z.string().optional(),
  expiresAt: z.string(),
});
export type InviteReply = z.infer<typeof inviteReplySchema>;

/** What the joiner sends (POST /join), with `mac` = HMAC-SHA256(secret, the body without mac). */
export const joinRequestSchema = z.strictObject({
  type: z.literal("join"),
  invite: hex16,
  machineId: machineIdSchema,
  name: z.string().min(1).max(128),
  natsUser: z.string().regex(/^U[A-Z2-7]{55}$/, "must be a NATS user public nkey"),
  wireguard: z.strictObject({ publicKey: wireGuardKey, endpoint: z.string().min(3) }),
  /** A workload subnet the joiner asks for (its dockerd already uses it); the inviter claims it or refuses. */
  subnet: z.string().optional(),
  /** When the joiner signed it: a request older than JOIN_REQUEST_MAX_AGE_MS is refused. */
  at: z.string(),
  mac: z.string(),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

/** How old a signed join request may be when it arrives (clocks a little apart are fine). */
export const JOIN_REQUEST_MAX_AGE_MS = 5 * 60_000;

/**
 * What the joiner gets back (sealed with the invite's secret): its registered record, the storage
 * machines it connects to as a leaf node (their records: WireGuard key, endpoint, overlay), the
 * leaf port and its leaf credentials.
 */
export const joinGrantSchema = z.strictObject({
  type: z.literal("joined"),
  cluster: hex16,
  machine: machineRecordSchema,
  storage: z.array(machineRecordSchema).min(1),
  leafPort: z.number().int().min(1).max(65535),
  leaf: z.strictObject({ user: z.string().min(1), password: z.string().min(32) }),
});
export type JoinGrant = z.infer<typeof joinGrantSchema>;

/** The join listener's answer on the wire: the sealed grant, or why the join was refused. */
export const joinResponseSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("sealed"), iv: base64url, data: base64url, tag: base64url }),
  z.strictObject({ type: z.literal("refused"), reason: z.string() }),
]);
export type JoinResponse = z.infer<typeof joinResponseSchema>;
