import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { InviteRefusedError, PloyzError } from "../../model/errors.ts";
import { JOIN_REQUEST_MAX_AGE_MS, joinRequestSchema, type JoinGrant, type JoinRequest, type JoinResponse } from "../../model/invite.ts";
import { leafPassword, leafUser } from "../../model/leaf-credentials.ts";
import { storageMembers, type MachineRecord } from "../../model/machine.ts";
import { overlayAddress } from "../../model/overlay-address.ts";
import { readMachines } from "../store/machines.ts";
import { claimWorkloadSubnet } from "../store/mesh.ts";
import { consumeInvite, readInvite } from "../store/invites.ts";
import type { InviteSecrets } from "./invite-secrets.ts";
import { proves, secretHash, sealForJoiner } from "./join-proof.ts";

export interface AdmitJoinerDeps {
  machineId: string;
  clusterId: string;
  invites: KV;
  machines: KV;
  mesh: KV;
  secrets: InviteSecrets;
  /** The cluster's leaf secret (KV mesh): the joiner's leaf password derives from it. */
  leafSecret: () => Promise<string>;
  leafPort: number;
  log: Pick<Logger, "info" | "warn">;
  /** Records the join as Status (`ployzctl events`); a failure is logged, the join stands. */
  recordJoin: (record: MachineRecord, detail: string) => Promise<void>;
  now?: () => Date;
}

const refused = (reason: string): JoinResponse => ({ type: "refused", reason });

/**
 * Answers one join request (what the join listener received): checks that it proves the invite's
 * secret, uses the invite up (compare-and-set: a second use is refused), claims the joiner's
 * workload subnet, registers its membership record, and seals what it needs to reach the store for
 * the holder of the secret. Every refusal says why; none echoes a secret.
 */
export async function admitJoiner(deps: AdmitJoinerDeps, body: unknown): Promise<JoinResponse> {
  const now = deps.now?.() ?? new Date();
  const parsed = joinRequestSchema.safeParse(body);
  if (!parsed.success) return refused(`not a join request (${parsed.error.issues[0]!.path.join(".") || "body"}: ${parsed.error.issues[0]!.message})`);
  const request = parsed.data;
  const read = await readInvite(deps.invites, request.invite);
  const secret = deps.secrets.read(request.invite);
  if (!read || !secret || read.record.inviter !== deps.machineId || read.record.secretHash !== secretHash(secret)) {
    return refused(`invite ${request.invite} is unknown to machine ${deps.machineId}: the token is forged, or was made for another cluster or machine`);
  }
  const { mac, ...signed } = request;
  if (!proves(secret, signed, mac)) return refused(`the join request does not prove the secret of invite ${request.invite}: the token is forged or altered`);
  const age = now.getTime() - Date.parse(request.at);
  if (!(Math.abs(age) <= JOIN_REQUEST_MAX_AGE_MS)) return refused(`the join request was signed at ${request.at}, too far from this machine's clock (${now.toISOString()}): check both clocks`);
  try {
    // Everything read before the joiner is registered: its record changes who this machine's
    // nats-server admits, and the reload that follows can refuse (as a timeout) a store call made
    // during it (docs/architecture.md, "Known limit"). Seen in the lab: a third machine's join
    // failed on the read of the machines that came after its registration.
    const storage = storageMembers((await readMachines(deps.machines)).machines).filter((m) => m.natsHost && m.wireguard && m.overlayIp && m.subnet);
    if (storage.length === 0) throw new InviteRefusedError("no storage machine of this cluster has an overlay address yet: the joiner would have no store to reach");
    const secretOfLeaves = await deps.leafSecret();
    const used = await consumeInvite(deps.invites, read, request.machineId, now);
    deps.secrets.forget(used.id);
    const record = await registerJoiner(deps, request, used.region, used.zone, now);
    const grant: JoinGrant = {
      type: "joined",
      cluster: deps.clusterId,
      machine: record,
      storage,
      leafPort: deps.leafPort,
      leaf: { user: leafUser(record.id), password: leafPassword(secretOfLeaves, record) },
    };
    deps.log.info({ machine: record.id, invite: used.id, subnet: record.subnet }, "a machine joined");
    const detail = `invited by ${deps.machineId} (invite ${used.id}), region ${record.region}${record.zone ? `, zone ${record.zone}` : ""}, subnet ${record.subnet}`;
    void deps.recordJoin(record, detail).catch((error: unknown) => deps.log.warn({ err: error, machine: record.id }, "could not record the join as Status"));
    return sealForJoiner(secret, request.invite, grant);
  } catch (error) {
    if (error instanceof PloyzError) {
      deps.log.warn({ invite: request.invite, machine: request.machineId, reason: error.message }, "join refused");
      return refused(error.message);
    }
    throw error;
  }
}

/** The joiner's membership record: created, never overwriting a machine that holds the id. */
async function registerJoiner(deps: AdmitJoinerDeps, request: JoinRequest, region: string, zone: string | undefined, now: Date): Promise<MachineRecord> {
  const subnet = await claimWorkloadSubnet(deps.mesh, request.machineId, request.subnet);
  const at = now.toISOString();
  const record: MachineRecord = {
    id: request.machineId,
    name: request.name,
    region,
    ...(zone ? { zone } : {}),
    storage: false,
    state: "active",
    natsUser: request.natsUser,
    wireguard: { publicKey: request.wireguard.publicKey, endpoint: request.wireguard.endpoint },
    overlayIp: overlayAddress(request.wireguard.publicKey),
    subnet,
    joinedAt: at,
    updatedAt: at,
  };
  try {
    await deps.machines.create(record.id, JSON.stringify(record));
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10071) {
      throw new InviteRefusedError(`machine id ${record.id} is taken in this cluster: join with another id (--machine-id), and ask for a new invite (this one is used)`);
    }
    throw error;
  }
  return record;
}
