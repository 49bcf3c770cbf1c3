import { randomBytes } from "node:crypto";
import type { KV } from "@nats-io/kv";
import { InvalidStateError, NotYetSupportedError } from "../../model/errors.ts";
import { DEFAULT_INVITE_TTL_MS, encodeInviteToken, inviteRequestSchema, type InviteRecord, type InviteReply } from "../../model/invite.ts";
import type { InviteSecrets } from "../mesh/invite-secrets.ts";
import { newInviteSecret, secretHash } from "../mesh/join-proof.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { createInvite } from "../store/invites.ts";

export interface InviteVerbDeps {
  invites: KV;
  machineId: string;
  clusterId: string;
  /** The region a machine joins unless the invite says otherwise: the inviter's. */
  region: string;
  /** This machine's join listener and WireGuard key; absent: no mesh here, no invites. */
  join?: { address: string; wireguardKey: string };
  secrets: InviteSecrets;
  now?: () => Date;
}

/**
 * `machine.invite`: a one-time join token. The invite is recorded in KV invites (its secret's
 * hash), its secret kept in this machine's data directory, and this machine's join listener opens
 * (it follows KV invites) until the invite is used or expires. The token is printed once and never
 * stored whole.
 */
export function inviteVerbs(deps: InviteVerbDeps): Record<string, (body: unknown) => Promise<unknown>> {
  const now = deps.now ?? (() => new Date());
  return {
    "machine.invite": async (body) => {
      const request = parseRequest(inviteRequestSchema, body, "machine.invite");
      if (request.storage) {
        throw new NotYetSupportedError("a machine that joins with storage grows the JetStream cluster, which comes in the next issue: invite it without --storage (it joins as a leaf node of the store)");
      }
      if (!deps.join) {
        throw new InvalidStateError(`machine ${deps.machineId} runs without a mesh: it cannot take a machine in`, { hint: "start its ployzd with --endpoint HOST:PORT (its address on the network other machines reach it on)" });
      }
      const at = now();
      const id = randomBytes(8).toString("hex");
      const secret = newInviteSecret();
      const expiresAt = new Date(at.getTime() + (request.ttlMs ?? DEFAULT_INVITE_TTL_MS)).toISOString();
      const region = request.region ?? deps.region;
      const record: InviteRecord = {
        type: "invite",
        id,
        secretHash: secretHash(secret),
        inviter: deps.machineId,
        region,
        ...(request.zone ? { zone: request.zone } : {}),
        storage: false,
        createdAt: at.toISOString(),
        expiresAt,
      };
      deps.secrets.keep(id, secret);
      try {
        await createInvite(deps.invites, record);
      } catch (error) {
        deps.secrets.forget(id);
        throw error;
      }
      const token = encodeInviteToken({ cluster: deps.clusterId, invite: id, secret, inviter: deps.machineId, inviterKey: deps.join.wireguardKey, join: deps.join.address, expiresAt });
      return { type: "invite", token, invite: id, inviter: deps.machineId, join: deps.join.address, region, ...(request.zone ? { zone: request.zone } : {}), expiresAt } satisfies InviteReply;
    },
  };
}
