import { storageMembers, type MachineRecord } from "../../model/machine.ts";
import { permissionsFor, type Identity } from "../../model/roles.ts";
import { JETSTREAM_DOMAIN } from "../../model/store-layout.ts";

export const CLUSTER_PORT = 6222;
export const LEAF_PORT = 7422;

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
}

/**
 * The nats-server configuration for one machine, as JSON (which nats-server reads natively).
 * Pure: membership in, config out. One storage machine runs standalone JetStream; two or more
 * form a cluster over the overlay; a machine without storage is a leaf node of them.
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
  const config: Record<string, unknown> = {
    server_name: input.machineId,
    host: input.clientHost,
    port: input.clientPort,
    pid_file: input.pidFile,
    // Manifests may be up to 1 MiB; images move through the object store in chunks.
    max_payload: 8 * 1024 * 1024,
    authorization: { users: [...byKey.values()].sort((a, b) => (a.nkey < b.nkey ? -1 : a.nkey > b.nkey ? 1 : 0)).map((i) => ({ nkey: i.nkey, permissions: permissionsFor(i) })) },
  };
  const peers = storageMembers(input.members).filter((m) => m.id !== input.machineId && m.natsHost);
  if (input.storage) {
    config.jetstream = { store_dir: input.storeDir, domain: JETSTREAM_DOMAIN };
    if (peers.length > 0) {
      const self = input.members.find((m) => m.id === input.machineId);
      config.cluster = {
        name: "ployz",
        listen: `${bracket(self?.natsHost ?? input.clientHost)}:${CLUSTER_PORT}`,
        routes: peers.map((p) => `nats-route://${bracket(p.natsHost!)}:${CLUSTER_PORT}`),
      };
      config.leafnodes = { listen: `${bracket(self?.natsHost ?? input.clientHost)}:${LEAF_PORT}` };
    }
  } else {
    if (peers.length === 0) throw new Error(`machine ${input.machineId} has no storage: it needs a storage member to connect to as a leaf node`);
    config.leafnodes = { remotes: [{ urls: peers.map((p) => `nats-leaf://${bracket(p.natsHost!)}:${LEAF_PORT}`) }] };
  }
  return config;
}

/** 0.0.0.0, ::, [::] or empty: every interface. */
export function isWildcard(host: string): boolean {
  return ["", "0.0.0.0", "::", "[::]", "*"].includes(host.trim());
}

function bracket(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
