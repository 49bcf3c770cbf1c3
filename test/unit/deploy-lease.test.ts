import { describe, expect, it } from "vitest";
import { createActor, setup, SimulatedClock, type AnyEventObject } from "xstate";
import { deployLeaseMachine, type DeployLeaseParentEvent, type LeaseHolder } from "../../machines/deploy-lease.ts";
import { LeaseHeldError, LeaseLostError, StoreUnavailableError } from "../../model/errors.ts";
import { controllable, flush } from "../fixtures/effects.ts";

const TTL = 15_000;
const RENEW = 5_000;
const RETRY = 1_000;
const value: LeaseHolder = { holder: "m1", deployId: "d-000001", since: "2026-01-01T00:00:00.000Z", incarnation: "i1" };

/** The lease under a parent that records what the lease tells it, on a simulated clock. */
function startLease() {
  const clock = new SimulatedClock();
  clock.set(1_700_000_000_000);
  const acquire = controllable<{ revision: number; token: number; warnings: string[] }, { namespace: string; value: LeaseHolder }>();
  const renew = controllable<number, { namespace: string; value: LeaseHolder; revision: number }>();
  const release = controllable<void, { namespace: string; value: LeaseHolder; revision: number }>();
  const told: DeployLeaseParentEvent[] = [];
  const parent = setup({
    actors: { lease: deployLeaseMachine.provide({ actors: { acquire: acquire.logic, renew: renew.logic, release: release.logic } }) },
  }).createMachine({
    invoke: {
      id: "lease",
      src: "lease",
      input: { namespace: "shop", value, now: () => clock.now(), ttlMs: TTL, renewEveryMs: RENEW, retryEveryMs: RETRY },
    },
    on: {
      "*": { actions: ({ event }) => void (event.type.startsWith("LEASE_") && told.push(event as DeployLeaseParentEvent)) },
    },
  });
  const actor = createActor(parent, { clock });
  actor.start();
  const lease = () => actor.getSnapshot().children.lease!;
  const state = () => lease().getSnapshot().value as unknown;
  const send = (event: AnyEventObject) => lease().send(event as never);
  return { clock, acquire, renew, release, told, state, send, lease };
}

async function held() {
  const t = startLease();
  t.acquire.latest().resolve({ revision: 7, token: 41, warnings: [] });
  await flush();
  return t;
}

describe("deployLeaseMachine", () => {
  it("acquires, then tells its holder the fence token", async () => {
    const t = startLease();
    expect(t.state()).toBe("acquiring");
    expect(t.acquire.latest().input).toEqual({ namespace: "shop", value });
    t.acquire.latest().resolve({ revision: 7, token: 41, warnings: ["could not delete fence 40"] });
    await flush();
    expect(t.state()).toEqual({ held: "waiting" });
    expect(t.told).toEqual([{ type: "LEASE_ACQUIRED", token: 41, warnings: ["could not delete fence 40"] }]);
  });

  it("a lease held by another deploy is refused at once, with its typed error", async () => {
    const t = startLease();
    const error = new LeaseHeldError("deploy lease for namespace shop is held by m2");
    t.acquire.latest().reject(error);
    await flush();
    expect(t.state()).toBe("refused");
    expect(t.lease().getSnapshot().status).toBe("done");
    expect(t.told).toEqual([{ type: "LEASE_REFUSED", error }]);
  });

  it("renews every renewEvery with the revision it holds, and keeps the new one", async () => {
    const t = await held();
    t.clock.increment(RENEW - 1);
    expect(t.renew.calls).toHaveLength(0);
    t.clock.increment(1);
    expect(t.state()).toEqual({ held: "renewing" });
    expect(t.renew.latest().input.revision).toBe(7);
    t.renew.latest().resolve(9);
    await flush();
    t.clock.increment(RENEW);
    expect(t.renew.calls).toHaveLength(2);
    expect(t.renew.latest().input.revision).toBe(9);
    expect(t.told.filter((e) => e.type === "LEASE_LOST")).toEqual([]);
  });

  it("one renewal the store did not answer is not a lost lease: it retries sooner and carries on", async () => {
    const t = await held();
    t.clock.increment(RENEW);
    t.renew.latest().reject(new StoreUnavailableError("could not read or write the deploy lease of shop: TIMEOUT"));
    await flush();
    expect(t.state()).toEqual({ held: "retrying" });
    t.clock.increment(RETRY);
    expect(t.renew.calls).toHaveLength(2);
    t.renew.latest().resolve(8);
    await flush();
    expect(t.state()).toEqual({ held: "waiting" });
    expect(t.told.map((e) => e.type)).toEqual(["LEASE_ACQUIRED"]);
  });

  it("is lost once renewals failed for nearly the store's max age: the store may have expired it", async () => {
    const t = await held();
    t.clock.increment(RENEW);
    for (let i = 0; i < 20 && t.told.length === 1; i++) {
      t.renew.latest().reject(new StoreUnavailableError("TIMEOUT"));
      await flush();
      t.clock.increment(RETRY);
    }
    expect(t.state()).toBe("lost");
    const lost = t.told.at(-1)!;
    expect(lost.type).toBe("LEASE_LOST");
    expect(lost.type === "LEASE_LOST" && lost.reason).toMatch(/not renewed for 1[3-4]\d{3} ms \(TIMEOUT\): the store may have expired it/);
    // it never outlived the lease: the last renewal was tried before the max age
    expect(t.renew.calls.length).toBeLessThanOrEqual(1 + (TTL - 2_000 - RENEW) / RETRY + 1);
  });

  it("is lost at once when the stored entry is someone else's (or gone)", async () => {
    const t = await held();
    t.clock.increment(RENEW);
    t.renew.latest().reject(new LeaseLostError("the deploy lease of namespace shop is now held by m2 (deploy d-2)"));
    await flush();
    expect(t.state()).toBe("lost");
    expect(t.told.at(-1)).toEqual({ type: "LEASE_LOST", reason: "the deploy lease of namespace shop is now held by m2 (deploy d-2)" });
    // a lost lease is not released: nothing of it is ours
    t.send({ type: "RELEASE" });
    await flush();
    expect(t.state()).toBe("released");
    expect(t.release.calls).toHaveLength(0);
  });

  it("RELEASE releases the revision it holds, also in the middle of a renewal", async () => {
    const t = await held();
    t.clock.increment(RENEW);
    expect(t.state()).toEqual({ held: "renewing" });
    t.send({ type: "RELEASE" });
    expect(t.state()).toBe("releasing");
    expect(t.renew.latest().aborted).toBe(true);
    expect(t.release.latest().input).toEqual({ namespace: "shop", value, revision: 7 });
    t.release.latest().resolve();
    await flush();
    expect(t.state()).toBe("released");
    expect(t.lease().getSnapshot().status).toBe("done");
  });

  it("a release that fails still ends (the max age frees the lease) and says why", async () => {
    const t = await held();
    t.send({ type: "RELEASE" });
    t.release.latest().reject(new StoreUnavailableError("TIMEOUT"));
    await flush();
    expect(t.state()).toBe("released");
    expect(t.lease().getSnapshot().output).toEqual({ lastError: "release failed: TIMEOUT" });
  });
});
