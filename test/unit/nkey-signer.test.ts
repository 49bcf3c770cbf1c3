import { createAccount, createUser, fromPublic, fromSeed } from "@nats-io/nkeys";
import { describe, expect, it } from "vitest";
import { nkeyAuthenticator, nkeySigner } from "../../runtime/nats/nkey-signer.ts";

/** The native signer against @nats-io/nkeys (tweetnacl), the reference it replaces. */
describe("nkeySigner", () => {
  it("derives the same public key as @nats-io/nkeys, for users and other roles", () => {
    for (const pair of [createUser(), createUser(), createAccount()]) {
      expect(nkeySigner(pair.getSeed()).publicKey).toBe(pair.getPublicKey());
    }
  });

  it("signs what @nats-io/nkeys verifies, byte for byte the same signature", () => {
    const pair = createUser();
    const data = new TextEncoder().encode("nonce-from-the-server");
    const signature = nkeySigner(pair.getSeed()).sign(data);
    expect(fromPublic(pair.getPublicKey()).verify(data, signature)).toBe(true);
    expect([...signature]).toEqual([...pair.sign(data)]);
  });

  it("answers a nonce as nkeyAuthenticator does: public key and base64url signature", () => {
    const pair = createUser();
    const auth = nkeyAuthenticator(pair.getSeed())("abc") as { nkey: string; sig: string };
    expect(auth.nkey).toBe(pair.getPublicKey());
    expect(fromSeed(pair.getSeed()).verify(new TextEncoder().encode("abc"), Buffer.from(auth.sig, "base64url"))).toBe(true);
  });

  it("refuses a seed whose checksum is wrong", () => {
    const seed = new TextDecoder().decode(createUser().getSeed());
    const broken = seed.slice(0, 10) + (seed[10] === "A" ? "B" : "A") + seed.slice(11);
    expect(() => nkeySigner(new TextEncoder().encode(broken))).toThrow();
  });

  it("refuses a public key where a seed belongs", () => {
    expect(() => nkeySigner(new TextEncoder().encode(createUser().getPublicKey()))).toThrow();
  });
});
