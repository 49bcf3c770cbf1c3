import { createActor, fromCallback, SimulatedClock } from "xstate";
import { describe, expect, it } from "vitest";
import { openSealed, proofOf, proves, sealForJoiner, newInviteSecret } from "../../actors/mesh/join-proof.ts";
import { joinListenerMachine } from "../../machines/join-listener.ts";
import { decodeInviteToken, encodeInviteToken, inviteRefusal, type InviteRecord } from "../../model/invite.ts";
import { leafLogins, leafPassword } from "../../model/leaf-credentials.ts";
import { claimSubnet, EMPTY_ALLOCATIONS } from "../../model/subnet-allocations.ts";
import { aMachine } from "../fixtures/machines.ts";

const anInvite = (overrides: Partial<InviteRecord> = {}): InviteRecord => ({
  type: "invite",
  id: "0123456789abcdef",
  secretHash: "0".repeat(64),
  inviter: "m1",
  region: "lab",
  storage: false,
  createdAt: "2026-12-01T00:00:00.000Z",
  expiresAt: "2026-12-01T00:10:00.000Z",
  ...overrides,
});

describe("invite tokens", () => {
  const token = { cluster: "0123456789abcdef", invite: "fedcba9876543210", secret: newInviteSecret(), inviter: "m1", inviterKey: `${"A".repeat(43)}=`, join: "10.213.0.11:51820", expiresAt: "2026-12-01T00:10:00.000Z" };
  it("round-trip, and a damaged or foreign token says so without echoing the secret", () => {
    expect(decodeInviteToken(encodeInviteToken(token))).toEqual({ token });
    expect(decodeInviteToken("hello")).toEqual({ error: expect.stringMatching(/not a Ployz invite token/) });
    const cut = encodeInviteToken(token).slice(0, 40);
    const damaged = decodeInviteToken(cut);
    expect("error" in damaged && damaged.error).toMatch(/damaged/);
    expect(JSON.stringify(damaged)).not.toContain(token.secret);
  });

  it("an invite is refused once used or expired, saying which", () => {
    const now = Date.parse("2026-12-01T00:05:00.000Z");
    expect(inviteRefusal(anInvite(), now)).toBeUndefined();
    expect(inviteRefusal(anInvite({ usedAt: "2026-12-01T00:01:00.000Z", usedBy: "m2" }), now)).toMatch(/already used \(by machine m2/);
    expect(inviteRefusal(anInvite(), Date.parse("2026-12-01T00:10:00.000Z"))).toMatch(/expired/);
  });
});

describe("join proofs", () => {
  it("prove the secret over the exact request, and seal the answer for its holder only", () => {
    const secret = newInviteSecret();
    const message = { b: 1, a: "x" };
    expect(proves(secret, { a: "x", b: 1 }, proofOf(secret, message))).toBe(true);
    expect(proves(secret, { a: "y", b: 1 }, proofOf(secret, message))).toBe(false);
    expect(proves(newInviteSecret(), message, proofOf(secret, message))).toBe(false);
    const sealed = sealForJoiner(secret, "inv", { hello: "world" });
    expect(openSealed(secret, "inv", sealed)).toEqual({ hello: "world" });
    expect(() => openSealed(newInviteSecret(), "inv", sealed)).toThrow();
    expect(() => openSealed(secret, "other", sealed)).toThrow();
  });
});

describe("workload subnet claims", () => {
  it("give each machine its own subnet: the one it holds, the one it asks for when free, else the first free one", () => {
    const first = claimSubnet(EMPTY_ALLOCATIONS, "m1");
    expect(first).toMatchObject({ subnet: "10.210.0.0/24", changed: true });
    expect(claimSubnet(first.table, "m1")).toMatchObject({ subnet: "10.210.0.0/24", changed: false });
    const asked = claimSubnet(first.table, "m2", "10.210.2.0/24");
    expect(asked.subnet).toBe("10.210.2.0/24");
    expect(() => claimSubnet(asked.table, "m3", "10.210.2.0/24")).toThrow(/taken: machine m2 holds/);
    expect(claimSubnet(asked.table, "m3").subnet).toBe("10.210.1.0/24");
  });
});

describe("leaf logins", () => {
  it("one per active member without storage, its password bound to its id and NATS key", () => {
    const leaf = aMachine({ id: "edge", storage: false });
    const logins = leafLogins("s".repeat(43), [aMachine({ id: "m1" }), leaf, aMachine({ id: "gone", storage: false, state: "removed" })]);
    expect(logins).toEqual([{ user: "leaf-edge", password: leafPassword("s".repeat(43), leaf) }]);
    expect(leafPassword("s".repeat(43), { ...leaf, natsUser: aMachine({ id: "other" }).natsUser })).not.toBe(logins[0]!.password);
  });
});

describe("joinListenerMachine", () => {
  it("is open while this machine has an outstanding invite, and closes when it is used or expires", () => {
    const clock = new SimulatedClock();
    clock.set(Date.parse("2026-12-01T00:00:00.000Z"));
    let listening = 0;
    let send: ((event: { type: "INVITES"; invites: InviteRecord[] }) => void) | undefined;
    const logic = joinListenerMachine.provide({
      actors: {
        watchInvites: fromCallback(({ sendBack }) => {
          send = sendBack as never;
        }),
        listen: fromCallback(() => {
          listening++;
          return () => listening--;
        }),
      },
    });
    const actor = createActor(logic, { clock, input: { name: "joinListener", machineId: "m1", now: () => clock.now() } }).start();
    expect(actor.getSnapshot().value).toEqual({ watching: "closed" });
    send!({ type: "INVITES", invites: [anInvite({ inviter: "m2" })] });
    expect(actor.getSnapshot().value).toEqual({ watching: "closed" }); // another machine's invite
    send!({ type: "INVITES", invites: [anInvite()] });
    expect(actor.getSnapshot().value).toEqual({ watching: { open: "counting" } });
    expect(listening).toBe(1);
    send!({ type: "INVITES", invites: [anInvite({ usedAt: "2026-12-01T00:01:00.000Z", usedBy: "m2" })] });
    expect(actor.getSnapshot().value).toEqual({ watching: "closed" });
    expect(listening).toBe(0);
    send!({ type: "INVITES", invites: [anInvite({ id: "1111111111111111" })] });
    expect(listening).toBe(1);
    clock.increment(10 * 60_000 + 20);
    expect(actor.getSnapshot().value).toEqual({ watching: "closed" });
    expect(listening).toBe(0);
    actor.stop();
  });
});
