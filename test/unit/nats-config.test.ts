import { describe, expect, it } from "vitest";
import { JETSTREAM_DOMAIN, replicasFor } from "../../model/store-layout.ts";
import { permissionsFor, type Identity } from "../../model/roles.ts";
import { CLUSTER_PORT, LEAF_PORT, natsConfigChange, renderNatsConfig, type NatsConfigInput } from "../../runtime/nats/config.ts";
import { aMachine, aNatsUser } from "../fixtures/machines.ts";

const userA = aNatsUser("alpha");
const userB = aNatsUser("bravo");
const machineA: Identity = { nkey: userA, role: "machine", name: "m1" };
const operatorB: Identity = { nkey: userB, role: "operator", name: "local-m1" };

function configFor(overrides: Partial<NatsConfigInput> = {}) {
  return renderNatsConfig({
    machineId: "m1",
    storage: true,
    clientHost: "127.0.0.1",
    clientPort: 4222,
    storeDir: "/data/nats/store",
    pidFile: "/data/nats/nats-server.pid",
    identities: [machineA],
    members: [],
    ...overrides,
  });
}

const leafLogin = { user: "leaf-edge", password: "p".repeat(43) };
const m1 = aMachine({ id: "m1", natsHost: "fd00::1" });
const m2 = aMachine({ id: "m2", natsHost: "fd00::2" });
const m3 = aMachine({ id: "m3", natsHost: "fd00::3" });

describe("renderNatsConfig", () => {
  it("names the server after the machine and listens for clients on the given loopback host only", () => {
    const config = configFor({ machineId: "m7", clientHost: "127.0.0.1", clientPort: 14222 });
    expect(config.server_name).toBe("m7");
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(14222);
    expect(config.pid_file).toBe("/data/nats/nats-server.pid");

    const ipv6 = configFor({ clientHost: "::1" });
    expect(ipv6.host).toBe("::1");
  });

  it("never listens on every interface, whatever the membership", () => {
    for (const config of [
      configFor(),
      configFor({ members: [m1, m2, m3] }),
      configFor({ machineId: "edge", storage: false, members: [m1, m2, m3], leafLogin }),
      // No overlay address for this machine yet: the cluster listener falls back to loopback.
      configFor({ members: [aMachine({ id: "m1" }), m2] }),
    ]) {
      const text = JSON.stringify(config);
      expect(text).not.toContain("0.0.0.0");
      expect(text).not.toMatch(/"\[?::\]?(:\d+)?"/);
    }
  });

  it("is plain JSON, which nats-server reads natively", () => {
    const config = configFor({ members: [m1, m2, m3] });
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  });

  describe("authorization", () => {
    it("admits nkey users only, sorted and without duplicates, each with its role's permissions", () => {
      const config = configFor({ identities: [operatorB, machineA, operatorB] });
      const sorted = [machineA, operatorB].sort((a, b) => (a.nkey < b.nkey ? -1 : 1));
      expect(config.authorization).toEqual({ users: sorted.map((i) => ({ nkey: i.nkey, permissions: permissionsFor(i) })) });
      expect(config).not.toHaveProperty("no_auth_user");
      expect(config).not.toHaveProperty("accounts");
    });

    it("refuses one key with two identities (it would get the wider permissions)", () => {
      expect(() => configFor({ identities: [machineA, { ...machineA, role: "observer", name: "eve" }] })).toThrow(/one key, one identity/);
    });

    it("refuses to render a server without users, since that would allow anonymous access", () => {
      expect(() => configFor({ identities: [] })).toThrow(/at least one user.*anonymous/);
    });
  });

  describe("a storage machine", () => {
    it("alone runs standalone JetStream in the ployz domain, tagged with its id, with no cluster", () => {
      for (const members of [[], [m1]]) {
        const config = configFor({ members });
        expect(config.jetstream).toEqual({ store_dir: "/data/nats/store", domain: "ployz" });
        expect(config.server_tags).toEqual(["m:m1"]);
        expect(JETSTREAM_DOMAIN).toBe("ployz");
        expect(config).not.toHaveProperty("cluster");
      }
      // Without an overlay address there is nowhere to listen for leaf nodes (never every interface).
      expect(configFor({ members: [] })).not.toHaveProperty("leafnodes");
    });

    it("from day one: a system account with an admin, and a leaf listener on its overlay address admitting each leaf machine by user and password", () => {
      const edge = aMachine({ id: "edge", storage: false });
      const config = configFor({ members: [edge], overlayIp: "fd70:6c6f:797a::1", sysAdminPassword: "s".repeat(43), leafLogins: [leafLogin] });
      expect(config.accounts).toEqual({ SYS: { users: [{ user: "admin", password: "s".repeat(43) }] } });
      expect(config.system_account).toBe("SYS");
      expect(config.leafnodes).toEqual({ listen: `[fd70:6c6f:797a::1]:${LEAF_PORT}` });
      // Top-level users reload on SIGHUP; a leafnodes.authorization block does not on 2.9.10.
      expect((config.authorization as { users: unknown[] }).users).toContainEqual({ user: "leaf-edge", password: "p".repeat(43) });
    });

    it("with other storage members, routes to each of them over the overlay (IPv6 bracketed), never to itself", () => {
      const config = configFor({ machineId: "m2", members: [m1, m2, m3] });
      expect(config.jetstream).toEqual({ store_dir: "/data/nats/store", domain: "ployz" });
      expect(config.cluster).toEqual({
        name: "ployz",
        listen: `[fd00::2]:${CLUSTER_PORT}`,
        routes: [`nats-route://[fd00::1]:${CLUSTER_PORT}`, `nats-route://[fd00::3]:${CLUSTER_PORT}`],
      });
      // Leaf nodes (machines without storage) connect to the storage members.
      expect(config.leafnodes).toEqual({ listen: `[fd00::2]:${LEAF_PORT}` });
    });

    it("routes to IPv4 hosts without brackets", () => {
      const config = configFor({
        members: [aMachine({ id: "m1", natsHost: "10.0.0.1" }), aMachine({ id: "m2", natsHost: "10.0.0.2" })],
      });
      expect(config.cluster).toMatchObject({ listen: `10.0.0.1:${CLUSTER_PORT}`, routes: [`nats-route://10.0.0.2:${CLUSTER_PORT}`] });
    });

    it("does not route to removed machines, machines without storage, or machines with no NATS address yet", () => {
      const config = configFor({
        members: [
          m1,
          m2,
          aMachine({ id: "gone", natsHost: "fd00::9", state: "removed" }),
          aMachine({ id: "edge", natsHost: "fd00::8", storage: false }),
          aMachine({ id: "new" }),
        ],
      });
      expect((config.cluster as { routes: string[] }).routes).toEqual([`nats-route://[fd00::2]:${CLUSTER_PORT}`]);
    });

    it("stays standalone when no other storage member is reachable", () => {
      const config = configFor({ members: [m1, aMachine({ id: "m2" }), aMachine({ id: "m3", natsHost: "fd00::3", state: "removed" })] });
      expect(config).not.toHaveProperty("cluster");
      expect(config.jetstream).toBeDefined();
    });
  });

  describe("a machine without storage", () => {
    it("runs no JetStream and no cluster, and is a leaf node of the storage members", () => {
      const edge = aMachine({ id: "edge", natsHost: "fd00::8", storage: false });
      const config = configFor({ machineId: "edge", storage: false, members: [m1, m2, m3, edge], leafLogin });
      const login = `leaf-edge:${"p".repeat(43)}@`;
      expect(config).not.toHaveProperty("jetstream");
      expect(config).not.toHaveProperty("cluster");
      expect(config).not.toHaveProperty("accounts");
      expect(config.leafnodes).toEqual({
        remotes: [
          {
            urls: [
              `nats-leaf://${login}[fd00::1]:${LEAF_PORT}`,
              `nats-leaf://${login}[fd00::2]:${LEAF_PORT}`,
              `nats-leaf://${login}[fd00::3]:${LEAF_PORT}`,
            ],
          },
        ],
      });
    });

    it("uses the storage machines it joined through until membership names them, and needs a leaf login", () => {
      const config = configFor({ machineId: "edge", storage: false, members: [], joinedHubs: [m1], leafLogin });
      expect(config.leafnodes).toEqual({ remotes: [{ urls: [`nats-leaf://leaf-edge:${"p".repeat(43)}@[fd00::1]:${LEAF_PORT}`] }] });
      expect(() => configFor({ machineId: "edge", storage: false, members: [m1] })).toThrow(/no leaf login/);
      expect(() => configFor({ machineId: "edge", storage: false, members: [], leafLogin })).toThrow(/needs a storage member/);
    });

    it("does not make leaf connections to removed or non-storage machines", () => {
      const config = configFor({
        machineId: "edge",
        storage: false,
        members: [m1, aMachine({ id: "other-edge", natsHost: "fd00::7", storage: false }), aMachine({ id: "gone", natsHost: "fd00::9", state: "removed" })],
        leafLogin,
      });
      expect(config.leafnodes).toEqual({ remotes: [{ urls: [`nats-leaf://leaf-edge:${"p".repeat(43)}@[fd00::1]:${LEAF_PORT}`] }] });
    });
  });
});

describe("natsConfigChange", () => {
  const base = () => renderNatsConfig({ machineId: "edge", storage: false, clientHost: "127.0.0.1", clientPort: 4222, storeDir: "/s", pidFile: "/p", identities: [machineA], members: [m1], leafLogin });
  it("reloads for a change of users, restarts for changed leaf remotes (2.9.10 does not reload them), and does nothing for the same config", () => {
    expect(natsConfigChange(base(), base())).toBe("none");
    expect(natsConfigChange(base(), { ...base(), authorization: { users: [] } })).toBe("reload");
    const moreHubs = renderNatsConfig({ machineId: "edge", storage: false, clientHost: "127.0.0.1", clientPort: 4222, storeDir: "/s", pidFile: "/p", identities: [machineA], members: [m1, m2], leafLogin });
    expect(natsConfigChange(base(), moreHubs)).toBe("restart");
  });
});

describe("replicasFor", () => {
  it("replicates once with one or two storage machines, three times with three or more", () => {
    expect(replicasFor(1)).toBe(1);
    expect(replicasFor(2)).toBe(1);
    expect(replicasFor(3)).toBe(3);
    expect(replicasFor(4)).toBe(3);
    expect(replicasFor(200)).toBe(3);
  });
});
