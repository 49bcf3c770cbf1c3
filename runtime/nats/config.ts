import type { LeafLogin } from "../../model/leaf-credentials.ts";
import { storageMembers, type MachineRecord } from "../../model/machine.ts";
import { permissionsFor, type Identity } from "../../model/roles.ts";
import { JETSTREAM_DOMAIN } from "../../model/store-layout.ts";

export const CLUSTER_PORT = 6222;
export const LEAF_PORT = 7422;
/** The system account's user on storage machines (server-admin APIs: meta leader step-down, peer removal). */
export const SYS_ADMIN_USER = "admin";

export interface NatsConfigInput {
  machineId: string;
  storage: boolean;
  /** Client listener: loopback on every machine; never 0.0.0.0. */
  clientHost: string;
  clientPort: number;
  storeDir: string;
  pidFile: string;
  /**
   * Who may connect, each with the permissions of its role: active members (machine role), this
   * machine's local operator, and the credentials handed out that are neither expired nor revoked.
   */
  identities: readonly Identity[];
  /** Current membership, for cluster routes (storage) or leaf remotes (no storage). */
  members: readonly MachineRecord[];
  /** This machine's overlay address, when its WireGuard interface exists: a storage machine's leaf listener binds it. */
  overlayIp?: string;
  /** Storage: the leaf machines it admits (user/password: 2.9.10 leaf remotes cannot use nkeys). */
  leafLogins?: readonly LeafLogin[];
  /** Storage: the password of the system account's admin user. */
  sysAdminPassword?: string;
  /** No storage: how this machine logs in to the storage machines' leaf listeners. */
  leafLogin?: LeafLogin;
  /** No storage: the storage machines it learned when it joined, used until membership names them. */
  joinedHubs?: readonly MachineRecord[];
}

/**
 * The nats-server configuration for one machine, as JSON (which nats-server reads natively).
 * Pure: membership in, config out. A storage machine runs JetStream in the `ployz` domain with
 * `server_tags: ["m:<id>"]`, a system account and (once it has an overlay address) a leaf listener
 * there, from day one, so growing to a cluster later needs no new kind of config; one storage
 * machine runs standalone, two or more form a cluster over the overlay. A machine without storage
 * is a leaf node of every storage machine, JetStream off.
 */
export function renderNatsConfig(input: NatsConfigInput): Record<string, unknown> {
  if (input.identities.length === 0) throw new Error("a NATS server needs at least one user: anonymous access is never allowed");
  const byKey = new Map<string, Identity>();
  for (const identity of input.identities) {
    const seen = byKey.get(identity.nkey);
    if (seen && (seen.role !== identity.role || seen.name !== identity.name)) {
      throw new Error(`nkey ${identity.nkey} is both ${seen.role} ${seen.name} and ${identity.role} ${identity.name}: one key, one identity`);
    }
    byKey.set(identity.nkey, identity);
  }
  if (isWildcard(input.clientHost)) throw new Error(`NATS must listen on loopback or the overlay, not ${input.clientHost}`);
  const users: Array<Record<string, unknown>> = [...byKey.values()]
    .sort((a, b) => (a.nkey < b.nkey ? -1 : a.nkey > b.nkey ? 1 : 0))
    .map((i) => ({ nkey: i.nkey, permissions: permissionsFor(i) }));
  // Leaf machines log in as plain users of the global account (top-level users reload; a
  // `leafnodes.authorization` block does not on 2.9.10, and its users could not change without a restart).
  if (input.storage) for (const login of input.leafLogins ?? []) users.push({ user: login.user, password: login.password });
  const config: Record<string, unknown> = {
    server_name: input.machineId,
    host: input.clientHost,
    port: input.clientPort,
    pid_file: input.pidFile,
    // Manifests may be up to 1 MiB; images move through the object store in chunks.
    max_payload: 8 * 1024 * 1024,
    authorization: { users },
  };
  const peers = storageMembers(input.members).filter((m) => m.id !== input.machineId && m.natsHost);
  if (input.storage) {
    config.jetstream = { store_dir: input.storeDir, domain: JETSTREAM_DOMAIN };
    config.server_tags = [`m:${input.machineId}`];
    if (input.sysAdminPassword) {
      config.accounts = { SYS: { users: [{ user: SYS_ADMIN_USER, password: input.sysAdminPassword }] } };
      config.system_account = "SYS";
    }
    const self = input.members.find((m) => m.id === input.machineId);
    const overlay = self?.natsHost ?? input.overlayIp;
    if (overlay && isWildcard(overlay)) throw new Error(`NATS must listen on loopback or the overlay, not ${overlay}`);
    if (peers.length > 0) {
      config.cluster = {
        name: "ployz",
        listen: `${bracket(overlay ?? input.clientHost)}:${CLUSTER_PORT}`,
        routes: peers.map((p) => `nats-route://${bracket(p.natsHost!)}:${CLUSTER_PORT}`),
      };
    }
    if (overlay) config.leafnodes = { listen: `${bracket(overlay)}:${LEAF_PORT}` };
  } else {
    const hubs = peers.length > 0 ? peers : storageMembers(input.joinedHubs ?? []).filter((m) => m.id !== input.machineId && m.natsHost);
    if (hubs.length === 0) throw new Error(`machine ${input.machineId} has no storage: it needs a storage member to connect to as a leaf node`);
    if (!input.leafLogin) throw new Error(`machine ${input.machineId} has no storage and no leaf login: join it with \`ployzd join TOKEN\``);
    const login = `${encodeURIComponent(input.leafLogin.user)}:${encodeURIComponent(input.leafLogin.password)}@`;
    config.leafnodes = { remotes: [{ urls: hubs.map((p) => `nats-leaf://${login}${bracket(p.natsHost!)}:${LEAF_PORT}`) }] };
  }
  return config;
}

/**
 * What it takes for a running nats-server to go from `before` to `after`: nothing, a reload
 * (SIGHUP: users and their permissions), or a restart — every other change, leaf remotes above all,
 * which 2.9.10 does not reload, and the listeners, JetStream and accounts.
 */
export function natsConfigChange(before: Record<string, unknown>, after: Record<string, unknown>): "none" | "reload" | "restart" {
  const { authorization: authBefore, ...restBefore } = before;
  const { authorization: authAfter, ...restAfter } = after;
  if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) return "restart";
  return JSON.stringify(authBefore) === JSON.stringify(authAfter) ? "none" : "reload";
}

/** 0.0.0.0, ::, [::] or empty: every interface. */
export function isWildcard(host: string): boolean {
  return ["", "0.0.0.0", "::", "[::]", "*"].includes(host.trim());
}

function bracket(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
