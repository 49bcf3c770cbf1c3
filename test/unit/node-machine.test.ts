import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock, type AnyActorRef } from "xstate";
import { NODE_CHILDREN, nodeMachine, type NodeChildName } from "../../machines/node.ts";
import { supervisedChildMachine } from "../../machines/supervised-child.ts";
import { controllable, flush } from "../fixtures/effects.ts";

/** Long-lived fake children that never end by themselves; each start records its name and abort signal. */
function fakeChildren() {
  const starts: Array<{ name: string; signal: AbortSignal; crash: (error: Error) => void }> = [];
  const logic = fromPromise<void, { name: string }>(
    ({ input, signal }) =>
      new Promise<void>((_, reject) => {
        starts.push({ name: input.name, signal, crash: reject });
      }),
  );
  const supervised = supervisedChildMachine.provide({ actors: { child: logic } });
  const actors = Object.fromEntries(NODE_CHILDREN.map((name) => [name, supervised])) as Record<
    NodeChildName,
    typeof supervised
  >;
  return { actors, starts, startsOf: (name: string) => starts.filter((s) => s.name === name) };
}

function startNode() {
  const clock = new SimulatedClock();
  clock.set(1_700_000_000_000);
  const register = controllable<void, { machineId: string }>();
  const recordStopped = controllable<void, { machineId: string }>();
  const handOver = controllable<void, { machineId: string }>();
  const children = fakeChildren();
  const machine = nodeMachine.provide({
    actors: { registerMachine: register.logic, recordStopped: recordStopped.logic, handOver: handOver.logic, ...children.actors },
  });
  const actor = createActor(machine, { clock, input: { machineId: "m1", now: () => clock.now() } });
  actor.start();
  return { actor, clock, register, recordStopped, handOver, children };
}

function childRefs(actor: AnyActorRef): Record<string, AnyActorRef | undefined> {
  return (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
}

describe("nodeMachine", () => {
  it("registers this machine first, and starts no child before registration is done", () => {
    const { actor, register, children } = startNode();
    expect(actor.getSnapshot().value).toBe("registering");
    expect(register.calls).toHaveLength(1);
    expect(register.latest().input).toEqual({ machineId: "m1" });
    expect(children.starts).toHaveLength(0);
    expect(Object.keys(childRefs(actor)).filter((id) => (NODE_CHILDREN as readonly string[]).includes(id))).toEqual([]);
  });

  it("runs every supervised child once registration succeeds", async () => {
    const { actor, clock, register, children } = startNode();
    register.latest().resolve();
    await flush();

    expect(actor.getSnapshot().value).toEqual({ running: "serving" });
    expect(actor.getSnapshot().context.error).toBeUndefined();
    const refs = childRefs(actor);
    for (const name of NODE_CHILDREN) {
      const snapshot = refs[name]?.getSnapshot() as { value: string; context: { name: string; since: number } } | undefined;
      expect(snapshot?.value, name).toBe("running");
      expect(snapshot?.context.name).toBe(name);
      // The node hands its clock to each supervisor.
      expect(snapshot?.context.since).toBe(clock.now());
    }
    expect(children.starts.map((s) => s.name).sort()).toEqual(["access", "api", "dns", "gateway", "inspector", "joinListener", "meshPeer", "participant", "reconciler"]);
    expect(children.starts.every((s) => !s.signal.aborted)).toBe(true);
  });

  it("keeps running while a child crashes and its supervisor restarts it after the backoff", async () => {
    const { actor, clock, register, children } = startNode();
    register.latest().resolve();
    await flush();

    children.startsOf("api")[0]!.crash(new Error("api lost its subscription"));
    await flush();
    const api = childRefs(actor).api!;
    expect((api.getSnapshot() as { value: string }).value).toBe("backoff");
    expect(actor.getSnapshot().value).toEqual({ running: "serving" });
    expect(children.startsOf("api")).toHaveLength(1);

    clock.increment(10_000); // past any first backoff
    expect((api.getSnapshot() as { value: string }).value).toBe("running");
    expect(children.startsOf("api")).toHaveLength(2);
    expect(children.startsOf("participant")).toHaveLength(1);
  });

  it("fails with the registration error and starts no children", async () => {
    const { actor, register, recordStopped, children } = startNode();
    register.latest().reject(new Error("machine m1 was removed from the cluster"));
    await flush();

    expect(actor.getSnapshot().value).toBe("failed");
    expect(actor.getSnapshot().status).toBe("done");
    expect(actor.getSnapshot().context.error).toBe("machine m1 was removed from the cluster");
    expect(children.starts).toHaveLength(0);
    expect(recordStopped.calls).toHaveLength(0);
    for (const name of NODE_CHILDREN) expect(childRefs(actor)[name]).toBeUndefined();
  });

  it("keeps a registration failure that is not an Error as text", async () => {
    const { actor, register } = startNode();
    register.latest().reject("store unreachable");
    await flush();
    expect(actor.getSnapshot().value).toBe("failed");
    expect(actor.getSnapshot().context.error).toBe("store unreachable");
  });

  it("on STOP while running, first lets operations hand over with every child still running, then stops them, records the stop and ends as stopped", async () => {
    const { actor, register, recordStopped, handOver, children } = startNode();
    register.latest().resolve();
    await flush();
    const refs = childRefs(actor);

    actor.send({ type: "STOP" });
    expect(actor.getSnapshot().value).toEqual({ running: "handingOver" });
    expect(handOver.calls).toHaveLength(1);
    expect(handOver.latest().input).toEqual({ machineId: "m1" });
    // Deploys in flight still have their participant, API and reconciler while they compensate or hand over.
    for (const start of children.starts) expect(start.signal.aborted, start.name).toBe(false);
    expect(recordStopped.calls).toHaveLength(0);

    handOver.latest().resolve();
    await flush();
    expect(actor.getSnapshot().value).toBe("stopping");
    expect(actor.getSnapshot().status).toBe("active");
    // The children are gone before the stop is recorded.
    expect(children.starts).toHaveLength(NODE_CHILDREN.length);
    for (const start of children.starts) expect(start.signal.aborted, start.name).toBe(true);
    for (const name of NODE_CHILDREN) {
      expect(refs[name]!.getSnapshot().status, name).toBe("stopped");
      expect(childRefs(actor)[name], name).toBeUndefined();
    }
    expect(recordStopped.calls).toHaveLength(1);
    expect(recordStopped.latest().input).toEqual({ machineId: "m1" });

    recordStopped.latest().resolve();
    await flush();
    expect(actor.getSnapshot().value).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
    // Nothing was restarted on the way down.
    expect(children.starts).toHaveLength(NODE_CHILDREN.length);
  });

  it("stops all the same when the hand-over fails", async () => {
    const { actor, register, recordStopped, handOver } = startNode();
    register.latest().resolve();
    await flush();
    actor.send({ type: "STOP" });
    handOver.latest().reject(new Error("the API did not answer"));
    await flush();
    expect(actor.getSnapshot().value).toBe("stopping");
    expect(recordStopped.calls).toHaveLength(1);
  });

  it("still ends as stopped when recording the stop fails", async () => {
    const { actor, register, recordStopped, handOver } = startNode();
    register.latest().resolve();
    await flush();
    actor.send({ type: "STOP" });
    handOver.latest().resolve();
    await flush();
    recordStopped.latest().reject(new Error("store unreachable"));
    await flush();
    expect(actor.getSnapshot().value).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
  });

  it("on STOP while registering, cancels registration and stops without starting children", async () => {
    const { actor, register, recordStopped, children } = startNode();
    actor.send({ type: "STOP" });
    expect(actor.getSnapshot().value).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
    expect(register.latest().aborted).toBe(true);

    register.latest().resolve(); // too late: must not start anything
    await flush();
    expect(actor.getSnapshot().value).toBe("stopped");
    expect(children.starts).toHaveLength(0);
    expect(recordStopped.calls).toHaveLength(0);
  });

  it("without a provided registerMachine, fails loudly instead of running unregistered", async () => {
    const actor = createActor(nodeMachine, { input: { machineId: "m1", now: () => 0 } });
    actor.start();
    await flush();
    expect(actor.getSnapshot().value).toBe("failed");
    expect(actor.getSnapshot().context.error).toBe("registerMachine not provided");
  });
});
