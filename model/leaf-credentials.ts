import { createHmac } from "node:crypto";
import type { MachineRecord } from "./machine.ts";

/**
 * How a machine without storage (a leaf node) is admitted by the storage machines' nats-servers.
 * nats-server 2.9.10 leaf remotes cannot log in with an nkey, so each leaf machine has a user and
 * password of its own. The password is derived from the cluster's leaf secret (KV `mesh`, key
 * `leaf-secret`, readable by the machine role only) and the member's identity, so every storage
 * machine — one now, three to five later — renders the same users from membership without a
 * password ever being stored in a record; the leaf keeps its own in a 0600 file. A machine that
 * joins again (new NATS key) gets a new password; a removed machine is no longer rendered.
 */

/** The leaf user of a machine: one token, never an nkey (those start with U). */
export function leafUser(machineId: string): string {
  return `leaf-${machineId}`;
}

/** The leaf password of `member` under the cluster's leaf secret (base64url, 43 characters). */
export function leafPassword(leafSecret: string, member: Pick<MachineRecord, "id" | "natsUser">): string {
  return createHmac("sha256", leafSecret).update(`ployz leaf v1\0${member.id}\0${member.natsUser}`).digest("base64url");
}

/** A user/password a storage machine admits on its leaf listener (rendered into the top-level users). */
export interface LeafLogin {
  user: string;
  password: string;
}

/** The leaf logins every storage machine admits: one per active member without storage. */
export function leafLogins(leafSecret: string, members: readonly MachineRecord[]): LeafLogin[] {
  return members
    .filter((m) => m.state === "active" && !m.storage)
    .map((m) => ({ user: leafUser(m.id), password: leafPassword(leafSecret, m) }))
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}
