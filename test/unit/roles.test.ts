import { describe, expect, it } from "vitest";
import { admittedIdentities, credentialState, nextExpiry, credentialNameSchema, type CredentialRecord } from "../../model/credentials.ts";
import { inboxPrefix, permissionsFor, READ_ONLY_API_VERBS, ROLES, type Identity } from "../../model/roles.ts";
import { API_VERBS } from "../../model/subjects.ts";
import { aMachine, aNatsUser } from "../fixtures/machines.ts";

const identity = (role: Identity["role"], name = "x"): Identity => ({ nkey: aNatsUser(name), role, name });
const allows = (list: string[], subject: string) =>
  list.some((pattern) => {
    const p = pattern.split(".");
    const s = subject.split(".");
    for (let i = 0; i < p.length; i++) {
      if (p[i] === ">") return s.length > i;
      if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
    }
    return p.length === s.length;
  });

describe("permissionsFor", () => {
  it("gives every role its own inbox only: no one may subscribe to another's replies", () => {
    for (const role of ROLES) {
      const p = permissionsFor(identity(role, "alice"));
      const own = inboxPrefix({ role, name: "alice" });
      expect(allows(p.subscribe.allow, `${own}.abc`)).toBe(true);
      expect(allows(p.subscribe.allow, "_INBOX.c.bob.abc")).toBe(false);
      expect(allows(p.subscribe.allow, "_INBOX.abc")).toBe(false);
      expect(p.subscribe.allow).not.toContain("_INBOX.>");
      expect(p.subscribe.allow).not.toContain(">");
      expect(p.publish.allow).not.toContain(">");
    }
  });

  it("lets no role delete or purge a stream, or touch the JetStream API beyond what it needs", () => {
    for (const role of ROLES) {
      const { publish } = permissionsFor(identity(role));
      for (const prefix of ["$JS.API", "$JS.ployz.API"]) {
        expect(allows(publish.allow, `${prefix}.STREAM.DELETE.COMMITS`), role).toBe(false);
        expect(allows(publish.allow, `${prefix}.STREAM.DELETE.KV_secrets`), role).toBe(false);
        expect(allows(publish.allow, `${prefix}.STREAM.PURGE.ROUTING`), role).toBe(false);
        expect(allows(publish.allow, `${prefix}.ACCOUNT.PURGE.x`), role).toBe(false);
      }
    }
    // pruning old commits is the one purge there is, and only a machine's
    expect(allows(permissionsFor(identity("machine")).publish.allow, "$JS.API.STREAM.PURGE.COMMITS")).toBe(true);
    expect(allows(permissionsFor(identity("operator")).publish.allow, "$JS.API.STREAM.PURGE.COMMITS")).toBe(false);
  });

  it("keeps the TLS keys to the roles that serve TLS", () => {
    const readsTls = (role: Identity["role"]) => allows(permissionsFor(identity(role)).publish.allow, "$JS.API.DIRECT.GET.KV_tls.$KV.tls.cert.example.com");
    expect(readsTls("machine")).toBe(true);
    expect(readsTls("gateway")).toBe(true);
    expect(readsTls("operator")).toBe(false);
    expect(readsTls("observer")).toBe(false);
  });

  it("lets only machines write routing and commits", () => {
    for (const role of ROLES) {
      const { publish } = permissionsFor(identity(role));
      expect(allows(publish.allow, "routing.shop.web"), role).toBe(role === "machine");
      expect(allows(publish.allow, "commits.shop"), role).toBe(role === "machine");
    }
  });

  it("lets an observer ask only the read-only API verbs, and every verb is either read-only or not", () => {
    const observer = permissionsFor(identity("observer"));
    for (const verb of API_VERBS) expect(allows(observer.publish.allow, `ployz.api.${verb}`), verb).toBe((READ_ONLY_API_VERBS as readonly string[]).includes(verb));
    for (const verb of ["deploy", "rollback", "namespace.rm", "logs", "credentials.create", "credentials.revoke", "region.set"]) expect(allows(observer.publish.allow, `ployz.api.${verb}`)).toBe(false);
    expect(allows(observer.publish.allow, "ployz.m.m1.observe.capacity")).toBe(true);
    expect(allows(observer.publish.allow, "ployz.m.m1.container.start")).toBe(false);
    expect(observer.publish.allow.some((s) => s.startsWith("$JS") || s.startsWith("$KV") || s.startsWith("$O"))).toBe(false);
  });

  it("lets a machine serve its own participant subjects and no other machine's", () => {
    const m1 = permissionsFor(identity("machine", "m1"));
    expect(allows(m1.subscribe.allow, "ployz.m.m1.container.start")).toBe(true);
    expect(allows(m1.subscribe.allow, "ployz.m.m2.container.start")).toBe(false);
    expect(allows(m1.publish.allow, "ployz.actors.m1")).toBe(true);
    expect(allows(m1.publish.allow, "ployz.actors.m2")).toBe(false);
    expect(allows(m1.publish.allow, "ployz.m.m2.debug.crash")).toBe(false);
    expect(allows(m1.publish.allow, "_INBOX.c.alice.reply1")).toBe(true); // it answers any asker
  });
});

describe("exec", () => {
  it("is the operator's only: it asks a machine to run a command and types into its session", () => {
    for (const role of ROLES) {
      const p = permissionsFor(identity(role, "alice"));
      expect(allows(p.publish.allow, "ployz.m.m1.exec"), role).toBe(role === "operator");
      expect(allows(p.publish.allow, "ployz.exec.m1.0123456789abcdef01234567"), role).toBe(role === "operator");
    }
  });

  it("lets a machine read the input of its own sessions only, and send output to any asker's inbox", () => {
    const m1 = permissionsFor(identity("machine", "m1"));
    expect(allows(m1.subscribe.allow, "ployz.exec.m1.abc")).toBe(true);
    expect(allows(m1.subscribe.allow, "ployz.exec.m2.abc")).toBe(false);
    expect(allows(m1.publish.allow, "_INBOX.c.alice.xyz")).toBe(true);
    // coordinators never exec on other machines
    expect(allows(m1.publish.allow, "ployz.m.m2.exec")).toBe(false);
    // nobody but that machine reads a session's input
    for (const role of ["operator", "observer", "gateway"] as const) expect(allows(permissionsFor(identity(role)).subscribe.allow, "ployz.exec.m1.abc"), role).toBe(false);
  });
});

describe("credentials", () => {
  const at = Date.parse("2026-12-01T12:00:00Z");
  const record = (name: string, extra: Partial<CredentialRecord> = {}): CredentialRecord => ({
    type: "credential",
    name,
    role: "observer",
    publicKey: aNatsUser(name),
    createdAt: "2026-12-01T00:00:00Z",
    createdBy: "operator via m1",
    ...extra,
  });

  it("are active until they expire or are revoked", () => {
    expect(credentialState(record("a"), at)).toBe("active");
    expect(credentialState(record("a", { expiresAt: "2026-12-01T12:00:01Z" }), at)).toBe("active");
    expect(credentialState(record("a", { expiresAt: "2026-12-01T12:00:00Z" }), at)).toBe("expired");
    expect(credentialState(record("a", { revokedAt: "2026-12-01T11:00:00Z", expiresAt: "2027-01-01T00:00:00Z" }), at)).toBe("revoked");
  });

  it("tell when the next reload is due: the earliest expiry of an active one", () => {
    expect(nextExpiry([record("a"), record("b", { expiresAt: "2026-12-02T00:00:00Z" }), record("c", { expiresAt: "2026-12-01T13:00:00Z" }), record("d", { expiresAt: "2026-12-01T12:30:00Z", revokedAt: "x" })], at)).toBe(
      Date.parse("2026-12-01T13:00:00Z"),
    );
    expect(nextExpiry([record("a")], at)).toBeUndefined();
  });

  it("cannot take a local operator's name", () => {
    expect(credentialNameSchema.safeParse("local-m1").success).toBe(false);
    expect(credentialNameSchema.safeParse("alice").success).toBe(true);
  });

  it("are admitted beside the machine's own identities and the active members, never with a removed machine's key", () => {
    const self = identity("machine", "m1");
    const operator = identity("operator", "local-m1");
    const m2 = aMachine({ id: "m2", natsUser: aNatsUser("m2") });
    const gone = aMachine({ id: "m3", natsUser: aNatsUser("m3"), state: "removed" });
    const stolen = record("eve", { publicKey: aNatsUser("m3") });
    const twice = record("mallory", { publicKey: self.nkey, role: "operator" });
    const { identities, conflicts } = admittedIdentities([self, operator], [m2, gone], [record("alice"), record("old", { revokedAt: "x" }), stolen, twice], at);
    expect(identities.map((i) => `${i.role} ${i.name}`)).toEqual(["machine m1", "operator local-m1", "machine m2", "observer alice"]);
    expect(conflicts).toEqual(["credential eve has the key of a removed machine: not admitted", "operator mallory has the key of machine m1: not admitted"]);
  });
});
