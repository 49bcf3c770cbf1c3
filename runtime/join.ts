import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { hostname } from "node:os";
import { openSealed, proofOf } from "../actors/mesh/join-proof.ts";
import { assertInterfaceName } from "../actors/mesh/wireguard-interface.ts";
import { loadOrCreateWireGuardKey } from "../actors/mesh/wireguard-keys.ts";
import { ConfigError, InviteRefusedError } from "../model/errors.ts";
import { decodeInviteToken, joinGrantSchema, joinResponseSchema, type InviteToken, type JoinGrant, type JoinRequest } from "../model/invite.ts";
import { parseEndpoint } from "../model/wireguard-peers.ts";
import { ensureWritableDir, writeFileAtomic } from "./files.ts";
import { loadOrCreateIdentity } from "./keys.ts";
import { generateMachineId, nodeConfigSchema, saveNodeConfig, type NodeConfig } from "./node-config.ts";
import { dataPaths } from "./paths.ts";
import { freePort } from "./process.ts";

export interface JoinOptions {
  token: string;
  dataDir: string;
  /** This machine's WireGuard endpoint (default: its address towards the inviter, port 51820). */
  endpoint?: string;
  wireguardInterface?: string;
  machineId?: string;
  subnet?: string;
  /** How long to keep trying while the inviter's listener is not up yet (default 10 s). */
  connectTimeoutMs?: number;
  now?: () => Date;
}

export const DEFAULT_WIREGUARD_PORT = 51820;

/**
 * `ployzd join TOKEN`: makes this machine's identities here (NATS nkey, WireGuard key: never in the
 * token), proves the invite's secret to the inviter's join listener, and keeps what the sealed
 * answer grants — its membership record, the storage machines it reaches as a leaf node, its leaf
 * password (0600) — in the data directory, ready for `ployzd run`. A forged, expired or used token
 * is an InviteRefusedError saying which.
 */
export async function joinCluster(options: JoinOptions): Promise<JoinGrant & { dataDir: string }> {
  const now = options.now ?? (() => new Date());
  const decoded = decodeInviteToken(options.token);
  if ("error" in decoded) throw new InviteRefusedError(decoded.error);
  const token = decoded.token;
  if (Date.parse(token.expiresAt) <= now().getTime()) {
    throw new InviteRefusedError(`invite ${token.invite} expired at ${token.expiresAt}: ask for a new one (\`ployzctl machine invite\`)`);
  }
  const paths = dataPaths(options.dataDir);
  ensureWritableDir(paths.dataDir);
  if (existsSync(paths.machine)) {
    throw new ConfigError(`${paths.dataDir} already holds a machine (${paths.machine})`, { hint: "join with a new --data-dir; a machine belongs to one cluster" });
  }
  const join = parseEndpoint(token.join);
  if (!join) throw new InviteRefusedError(`the invite token's join address ${token.join} is not host:port: the token is damaged`);
  const endpoint = options.endpoint ?? `${bracket(await localAddressTowards(join.host))}:${DEFAULT_WIREGUARD_PORT}`;
  const listenPort = parseEndpoint(endpoint)?.port;
  if (!listenPort) throw new ConfigError(`--endpoint ${endpoint} is not host:port (IPv6 in brackets)`);
  const iface = options.wireguardInterface ?? "ployz0";
  assertInterfaceName(iface);

  const machineId = options.machineId ?? generateMachineId();
  const natsKey = loadOrCreateIdentity(paths.machineSeed);
  const wireguardKey = loadOrCreateWireGuardKey(paths.wireguardKey);
  const unsigned: Omit<JoinRequest, "mac"> = {
    type: "join",
    invite: token.invite,
    machineId,
    name: hostname(),
    natsUser: natsKey.publicKey,
    wireguard: { publicKey: wireguardKey, endpoint },
    ...(options.subnet ? { subnet: options.subnet } : {}),
    at: now().toISOString(),
  };
  const body: JoinRequest = { ...unsigned, mac: proofOf(token.secret, unsigned) };
  const response = await postJoin(token, body, options.connectTimeoutMs ?? 10_000);
  if (response.type === "refused") throw new InviteRefusedError(`machine ${token.inviter} refused the join: ${response.reason}`);
  let grant: JoinGrant;
  try {
    grant = joinGrantSchema.parse(openSealed(token.secret, token.invite, response));
  } catch (error) {
    throw new InviteRefusedError(`the answer from ${token.join} is not sealed with this invite's secret: something other than machine ${token.inviter} answered`, { cause: error });
  }
  if (grant.cluster !== token.cluster || grant.machine.id !== machineId || grant.machine.natsUser !== natsKey.publicKey) {
    throw new InviteRefusedError(`the answer from machine ${token.inviter} is for another cluster or machine (cluster ${grant.cluster}, machine ${grant.machine.id})`);
  }

  writeFileAtomic(paths.leafPassword, `${grant.leaf.password}\n`, 0o600);
  const config: NodeConfig = nodeConfigSchema.parse({
    version: 1,
    machineId,
    name: grant.machine.name,
    region: grant.machine.region,
    ...(grant.machine.zone ? { zone: grant.machine.zone } : {}),
    storage: false,
    nats: { host: "127.0.0.1", clientPort: await freePort("127.0.0.1") },
    mesh: { endpoint, listenPort, interface: iface, joinHost: parseEndpoint(endpoint)!.host },
    subnet: grant.machine.subnet,
    joined: { cluster: grant.cluster, inviter: token.inviter, at: now().toISOString(), hubs: grant.storage },
    createdAt: now().toISOString(),
  });
  saveNodeConfig(paths, config);
  return { ...grant, dataDir: paths.dataDir };
}

/** POST /join to the inviter, trying again while nothing listens yet (the listener opens as the invite is stored). */
async function postJoin(token: InviteToken, body: JoinRequest, timeoutMs: number) {
  const { host, port } = parseEndpoint(token.join)!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { status, text } = await post(host, port, JSON.stringify(body));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new InviteRefusedError(`${token.join} answered HTTP ${status} without JSON: is it a Ployz join listener?`, { cause: error });
      }
      const parsed = joinResponseSchema.safeParse(json);
      if (!parsed.success) throw new InviteRefusedError(`${token.join} answered HTTP ${status} with something that is not a join answer`);
      return parsed.data;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === "ECONNREFUSED" || code === "ECONNRESET") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (code === "ECONNREFUSED") {
        throw new InviteRefusedError(`nothing listens at ${token.join}: machine ${token.inviter}'s join listener is closed (the invite was used or expired, or its ployzd is down)`, { cause: error });
      }
      throw error;
    }
  }
}

function post(host: string, port: number, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host, port, method: "POST", path: "/join", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, timeout: 15_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.once("error", reject);
    });
    request.once("timeout", () => request.destroy(new Error(`no answer from ${host}:${port} within 15 s`)));
    request.once("error", reject);
    request.end(body);
  });
}

/** The address this machine sends from towards `host` (a connected UDP socket; nothing is sent). */
async function localAddressTowards(host: string): Promise<string> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(DEFAULT_WIREGUARD_PORT, host, () => resolve(socket.address().address));
    });
  } finally {
    socket.close();
  }
}

function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
