import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock, type AnyActorLogic } from "xstate";
import { supervisedChildMachine } from "../../machines/supervised-child.ts";
import { meshPeerMachine } from "../../machines/mesh-peer.ts";
import type { SupervisionPolicy } from "../../model/supervision.ts";

const policy: SupervisionPolicy = { initialBackoffMs: 100, maxBackoffMs: 1_000, maxCrashes: 5, windowMs: 60_000 };

/** A child that crashes on demand: each start registers a reject function. */
function crashableChild() {
  const starts: Array<(error: Error) => void> = [];
  const logic = fromPromise<void, { name: string }>(
    () =>
      new Promise<void>((_, reject) => {
        starts.push(reject);
      }),
  );
  return { logic, starts, crashLatest: (message = "boom") => starts.at(-1)!(new Error(message)) };
}

function start(child: AnyActorLogic, clock: SimulatedClock) {
  const machine = supervisedChildMachine.provide({ actors: { child: child as never } });
  const actor = createActor(machine, { clock, input: { name: "participant", policy, now: () => clock.now() } });
  actor.start();
  return actor;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("supervisedChild", () => {
  it("restarts a crashed child after the backoff, doubling each time", async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const child = crashableChild();
    const actor = start(child.logic, clock);
    expect(actor.getSnapshot().value).toBe("running");
    expect(child.starts).toHaveLength(1);

    child.crashLatest("first");
    await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    expect(actor.getSnapshot().context.lastError).toBe("first");

    clock.increment(99);
    expect(actor.getSnapshot().value).toBe("backoff");
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe("running");
    expect(actor.getSnapshot().context.restarts).toBe(1);
    expect(child.starts).toHaveLength(2);

    child.crashLatest("second");
    await flush();
    clock.increment(199);
    expect(actor.getSnapshot().value).toBe("backoff");
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe("running");
    expect(actor.getSnapshot().context.restarts).toBe(2);
  });

  it("marks a child that crashes more than 5 times in 60 s as failed and stops restarting it", async () => {
    const clock = new SimulatedClock();
    clock.set(5_000_000);
    const child = crashableChild();
    const actor = start(child.logic, clock);
    for (let crash = 1; crash <= 5; crash++) {
      child.crashLatest(`crash ${crash}`);
      await flush();
      expect(actor.getSnapshot().value).toBe("backoff");
      clock.increment(1_000);
      expect(actor.getSnapshot().value).toBe("running");
    }
    child.crashLatest("crash 6");
    await flush();
    expect(actor.getSnapshot().value).toBe("failed");
    expect(actor.getSnapshot().context.lastError).toBe("crash 6");
    clock.increment(120_000);
    expect(actor.getSnapshot().value).toBe("failed");
    expect(child.starts).toHaveLength(6);

    actor.send({ type: "RESTART" });
    expect(actor.getSnapshot().value).toBe("running");
    expect(child.starts).toHaveLength(7);
  });

  it("forgets crashes older than the window", async () => {
    const clock = new SimulatedClock();
    clock.set(0);
    const child = crashableChild();
    const actor = start(child.logic, clock);
    for (let crash = 1; crash <= 12; crash++) {
      child.crashLatest();
      await flush();
      expect(actor.getSnapshot().value).toBe("backoff");
      clock.increment(20_000); // three crashes per minute at most
    }
    expect(actor.getSnapshot().value).toBe("running");
    expect(actor.getSnapshot().context.restarts).toBe(12);
  });

  it("treats a child that exits as a crash", async () => {
    const clock = new SimulatedClock();
    const actor = start(fromPromise(async () => {}), clock);
    await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    expect(actor.getSnapshot().context.lastError).toBe("exited unexpectedly");
  });

  it("treats an injected crash like a real one", () => {
    const clock = new SimulatedClock();
    const child = crashableChild();
    const actor = start(child.logic, clock);
    actor.send({ type: "INJECT_CRASH", reason: "injected by test" });
    expect(actor.getSnapshot().value).toBe("backoff");
    expect(actor.getSnapshot().context.lastError).toBe("injected by test");
  });

  it("stops the child on STOP and does not restart it", async () => {
    const clock = new SimulatedClock();
    let aborted = false;
    const child = fromPromise<void, { name: string }>(
      ({ signal }) =>
        new Promise<void>(() => {
          signal.addEventListener("abort", () => {
            aborted = true;
          });
        }),
    );
    const actor = start(child, clock);
    actor.send({ type: "STOP" });
    expect(actor.getSnapshot().value).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
    expect(aborted).toBe(true);
  });

  it("restarts a statechart child whose watch fails (meshPeer escalates)", async () => {
    const clock = new SimulatedClock();
    let fail: ((reason: string) => void) | undefined;
    const meshPeer = meshPeerMachine.provide({
      actors: {
        watchMachines: (await import("xstate")).fromCallback(({ sendBack }) => {
          fail = (reason) => sendBack({ type: "WATCH_FAILED", reason });
        }),
      },
    });
    const actor = start(meshPeer, clock);
    expect(actor.getSnapshot().value).toBe("running");
    fail!("connection closed");
    await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    expect(actor.getSnapshot().context.lastError).toContain("machines watch failed: connection closed");
  });
});
