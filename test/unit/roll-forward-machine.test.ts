import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock, waitFor } from "xstate";
import { rollForwardMachine, type Derived } from "../../machines/roll-forward.ts";
import type { Leftover } from "../../model/roll-forward.ts";

const leftover: Leftover = { machine: "m1", containerId: "c1", name: "ployz-shop-web-0-old", deployId: "d-old", routed: true };

/** The roll-forward with its effects recorded; `derived` is what derive finds. */
function run(derived: Partial<Derived>, token: number | undefined) {
  const calls: string[] = [];
  const clock = new SimulatedClock();
  const machine = rollForwardMachine.provide({
    actors: {
      derive: fromPromise(async () => ({ notes: [], leftovers: [], dead: [], routingSeq: 7, routingChanged: false, gateways: ["m1"], ...derived })),
      waitForRouting: fromPromise(async ({ input }) => {
        calls.push(`waitForRouting ${input.routingSeq}`);
        return [];
      }),
      removeLeftovers: fromPromise(async ({ input }) => {
        calls.push(`removeLeftovers ${input.leftovers.length}`);
        return [];
      }),
    },
  });
  const actor = createActor(machine, { input: { namespace: "shop", deployId: "d-new", token, drainMs: 500 }, clock });
  actor.start();
  return { actor, calls, clock };
}

describe("rollForwardMachine", () => {
  it("waits for the gateways when it wrote routing, even with nothing to remove (a first deploy is served when it returns)", async () => {
    const r = run({ routingChanged: true }, 41);
    await waitFor(r.actor, (s) => s.matches("draining"));
    r.clock.increment(0); // no routed leftover: no drain delay
    await waitFor(r.actor, (s) => s.status === "done");
    expect(r.calls).toEqual(["waitForRouting 7"]);
  });

  it("is done at once when it wrote no routing and has nothing to remove (a reconcile that finds everything in line)", async () => {
    const r = run({}, 41);
    await waitFor(r.actor, (s) => s.status === "done");
    expect(r.calls).toEqual([]);
  });

  it("removes leftovers only after routing moved on and the drain delay", async () => {
    const r = run({ routingChanged: true, leftovers: [leftover] }, 41);
    await waitFor(r.actor, (s) => s.matches("draining"));
    expect(r.calls).toEqual(["waitForRouting 7"]);
    r.clock.increment(499);
    expect(r.calls).toEqual(["waitForRouting 7"]);
    r.clock.increment(1);
    await waitFor(r.actor, (s) => s.status === "done");
    expect(r.calls).toEqual(["waitForRouting 7", "removeLeftovers 1"]);
  });

  it("without the fence token, waits for its routing but never removes anything", async () => {
    const r = run({ routingChanged: true, leftovers: [leftover] }, undefined);
    await waitFor(r.actor, (s) => s.matches("draining"));
    r.clock.increment(500);
    await waitFor(r.actor, (s) => s.status === "done");
    expect(r.calls).toEqual(["waitForRouting 7"]);
  });
});
