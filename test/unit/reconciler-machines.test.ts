import { describe, expect, it } from "vitest";
import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef } from "xstate";
import { apiMachine, type ApiServerEvent } from "../../machines/api.ts";
import type { DeployInput } from "../../machines/deploy.ts";
import { namespaceReconcilerMachine, type ReconcileCheck } from "../../machines/namespace-reconciler.ts";
import { reconcilerMachine, namespaceReconcilerId, type ReconcilerEvent } from "../../machines/reconciler.ts";
import type { DeployOutcome } from "../../model/deploy.ts";
import { DEFAULT_SUPERVISION_POLICY } from "../../model/supervision.ts";
import { aSpec, aService } from "../fixtures/deploy.ts";
import { controllable, flush } from "../fixtures/effects.ts";

const spec = aSpec({ web: aService() });
const INTERVAL = 30_000;
const BACKOFF = { ...DEFAULT_SUPERVISION_POLICY, initialBackoffMs: 2_000, maxBackoffMs: 60_000 };

/** A deploy that waits for the test to say how it ended. */
function fakeDeploys() {
  const runs: Array<{ input: DeployInput; finish: (outcome: DeployOutcome) => void; stopped: boolean }> = [];
  const logic = setup({ types: { input: {} as DeployInput, context: {} as { input: DeployInput; outcome?: DeployOutcome }, events: {} as { type: "FINISH"; outcome: DeployOutcome } | { type: "SHUTDOWN" } } }).createMachine({
    context: ({ input }) => ({ input }),
    initial: "running",
    states: {
      running: {
        on: {
          FINISH: { target: "done", actions: ({ context, event }) => void (context.outcome = event.outcome) },
          SHUTDOWN: { target: "done", actions: ({ context }) => void (context.outcome = { type: "failed", namespace: context.input.namespace, deployId: context.input.deployId, phase: "shutdown", reason: "stopping", code: "daemon-stopping", lines: [], headSeq: null }) },
        },
      },
      done: { type: "final" },
    },
    output: ({ context }) => context.outcome!,
  });
  return { logic, runs };
}

const deployed = (deployId: string): DeployOutcome => ({ type: "deployed", namespace: "shop", deployId, commitSeq: 9, plan: { namespace: "shop", baseCommitSeq: 8, operations: [], explanations: [], hash: "x" }, lines: [], notes: [], warnings: [] });
const failed = (deployId: string): DeployOutcome => ({ type: "failed", namespace: "shop", deployId, phase: "readiness", reason: "web#0 did not become ready", code: "deploy-failed", lines: [], headSeq: 8 });

describe("namespaceReconcilerMachine", () => {
  function start() {
    const clock = new SimulatedClock();
    clock.set(1_700_000_000_000);
    const check = controllable<ReconcileCheck, { namespace: string }>();
    const deploys = fakeDeploys();
    const recorded: Array<{ reason: string; outcome: string }> = [];
    const machine = namespaceReconcilerMachine.provide({
      actors: { check: check.logic as never, repair: deploys.logic as never },
      actions: { recordRepair: (_, p) => void recorded.push({ reason: p.reason, outcome: p.outcome.type }) },
    });
    const actor = createActor(machine, {
      clock,
      input: {
        namespace: "shop",
        machineId: "m1",
        incarnation: "i1",
        intervalMs: INTERVAL,
        debounceMs: 100,
        repairBackoff: BACKOFF,
        timing: { now: () => clock.now(), leaseTtlMs: 15_000, renewEveryMs: 5_000, retryEveryMs: 1_000, drainMs: 500 },
      },
    });
    actor.start();
    const repairRef = () => (actor.getSnapshot().children as Record<string, AnyActorRef | undefined>)[Object.keys(actor.getSnapshot().children)[0]!];
    return { clock, check, actor, recorded, state: () => actor.getSnapshot().value, repairRef };
  }
  const quiet: ReconcileCheck = { notes: [], repair: null };
  const repair = (deployId: string): ReconcileCheck => ({ notes: ["routing web: 0 backends"], repair: { deployId, operation: { kind: "deploy", spec }, reason: "reconcile: web#0 on m1 exited (137)" } });

  it("checks at once when it starts, then every interval", async () => {
    const t = start();
    expect(t.check.calls).toHaveLength(1);
    expect(t.check.latest().input).toEqual({ namespace: "shop" });
    t.check.latest().resolve(quiet);
    await flush();
    expect(t.state()).toBe("idle");
    t.clock.increment(INTERVAL - 1);
    expect(t.check.calls).toHaveLength(1);
    t.clock.increment(1);
    expect(t.check.calls).toHaveLength(2);
  });

  it("pokes that come close together are one check; a poke during a check is not lost", async () => {
    const t = start();
    t.actor.send({ type: "POKE", reason: "commit" }); // while checking
    t.check.latest().resolve(quiet);
    await flush();
    expect(t.state()).toBe("waiting");
    t.actor.send({ type: "POKE", reason: "die" });
    t.actor.send({ type: "POKE", reason: "destroy" });
    t.clock.increment(100);
    expect(t.check.calls).toHaveLength(2);
    t.check.latest().resolve(quiet);
    await flush();
    expect(t.state()).toBe("idle");
  });

  it("runs the repair the check asked for as its own coordinator, records it, and checks again", async () => {
    const t = start();
    t.check.latest().resolve(repair("r-1"));
    await flush();
    expect(t.state()).toBe("repairing");
    const ref = t.repairRef()!;
    expect((ref.getSnapshot() as { context: { input: DeployInput } }).context.input).toMatchObject({ deployId: "r-1", namespace: "shop", operation: { kind: "deploy" }, incarnation: "i1" });
    ref.send({ type: "FINISH", outcome: deployed("r-1") });
    await flush();
    expect(t.recorded).toEqual([{ reason: "reconcile: web#0 on m1 exited (137)", outcome: "deployed" }]);
    expect(t.state()).toBe("checking");
    // a repair that worked is not repeated at once (a container that keeps dying is no deploy loop)
    t.check.latest().resolve(repair("r-2"));
    await flush();
    expect(t.state()).toBe("idle");
  });

  it("backs off after repairs that fail, doubling, so a crash-looping service does not become a deploy loop", async () => {
    const t = start();
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      // keep checking until a repair is allowed again
      let waited = 0;
      for (;;) {
        t.check.latest().resolve(repair(`r-${attempt}`));
        await flush();
        if (t.state() === "repairing") break;
        t.clock.increment(1_000);
        waited += 1_000;
        t.actor.send({ type: "POKE", reason: "die" });
        t.clock.increment(100);
        waited += 100;
      }
      waits.push(waited);
      t.repairRef()!.send({ type: "FINISH", outcome: failed(`r-${attempt}`) });
      await flush();
    }
    expect(t.recorded.map((r) => r.outcome)).toEqual(["failed", "failed", "failed"]);
    expect(waits[0]).toBe(0);
    expect(waits[1]! >= 2_000 && waits[1]! < 4_000).toBe(true);
    expect(waits[2]! >= 4_000 && waits[2]! < 6_000).toBe(true);
  });

  it("a check that fails is kept as the last failure and tried again on the next interval", async () => {
    const t = start();
    t.check.latest().reject(Object.assign(new Error("could not read or write the deploy lease of shop: TIMEOUT"), { code: "store-unavailable" }));
    await flush();
    expect(t.state()).toBe("idle");
    expect(t.actor.getSnapshot().context.lastFailure).toEqual({ phase: "check", code: "store-unavailable", reason: "could not read or write the deploy lease of shop: TIMEOUT" });
    t.clock.increment(INTERVAL);
    expect(t.check.calls).toHaveLength(2);
  });
});

describe("reconcilerMachine", () => {
  it("spawns one reconciler per namespace the watch names, pokes it on later news, and crashes (for its supervisor) when the watch fails", async () => {
    let sendBack!: (event: ReconcilerEvent) => void;
    const pokes: string[] = [];
    const child = setup({}).createMachine({ on: { POKE: { actions: ({ event }) => void pokes.push((event as unknown as { reason: string }).reason) } } });
    const machine = reconcilerMachine.provide({
      actors: {
        watch: fromCallback(({ sendBack: s }) => {
          sendBack = s as never;
        }) as never,
        namespaceReconciler: child as never,
      },
    });
    const actor = createActor(machine, {
      input: { machineId: "m1", incarnation: "i1", intervalMs: INTERVAL, debounceMs: 100, repairBackoff: BACKOFF, timing: { now: Date.now, leaseTtlMs: 15_000, renewEveryMs: 5_000, retryEveryMs: 1_000, drainMs: 500 } },
    });
    actor.start();
    sendBack({ type: "NAMESPACE", namespace: "shop", reason: "start" });
    sendBack({ type: "NAMESPACE", namespace: "blog", reason: "start" });
    sendBack({ type: "NAMESPACE", namespace: "shop", reason: "commit" });
    await flush();
    expect(actor.getSnapshot().context.namespaces).toEqual(["blog", "shop"]);
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual([namespaceReconcilerId("blog"), namespaceReconcilerId("shop"), "watch"].sort());
    expect(pokes).toEqual(["commit"]);
    sendBack({ type: "WATCH_FAILED", error: "the COMMITS consumer ended" });
    await flush();
    expect(actor.getSnapshot().status).toBe("done");
    expect(actor.getSnapshot().output).toEqual({ error: "the COMMITS consumer ended" });
  });
});

describe("apiMachine", () => {
  function start() {
    const told: ApiServerEvent[] = [];
    let sendBack!: (event: { type: string; [key: string]: unknown }) => void;
    const deploys = fakeDeploys();
    const machine = apiMachine.provide({
      actors: {
        serve: fromCallback(({ sendBack: s, receive }) => {
          sendBack = s;
          receive((event) => void told.push(event as unknown as ApiServerEvent));
        }) as never,
        deploy: deploys.logic as never,
      },
    });
    const actor = createActor(machine, { input: { machineId: "m1" } });
    actor.start();
    const input = (deployId: string): DeployInput => ({
      deployId,
      namespace: "shop",
      machineId: "m1",
      incarnation: "i1",
      operation: { kind: "deploy", spec },
      preview: false,
      timing: { now: Date.now, leaseTtlMs: 15_000, renewEveryMs: 5_000, retryEveryMs: 1_000, drainMs: 500 },
    });
    const child = (id: string) => (actor.getSnapshot().children as Record<string, AnyActorRef | undefined>)[id];
    return { actor, told, run: (id: string) => sendBack({ type: "RUN", input: input(id) }), child, state: () => actor.getSnapshot().value };
  }

  it("spawns each operation as a child named by its deploy id and hands its outcome back to the server", async () => {
    const t = start();
    t.run("d-1");
    t.run("d-2");
    await flush();
    expect(t.actor.getSnapshot().context.running).toEqual(["d-1", "d-2"]);
    t.child("d-2")!.send({ type: "FINISH", outcome: deployed("d-2") });
    await flush();
    expect(t.told).toEqual([{ type: "FINISHED", deployId: "d-2", outcome: deployed("d-2") }]);
    expect(t.actor.getSnapshot().context.running).toEqual(["d-1"]);
    expect(t.child("d-2")).toBeUndefined();
  });

  it("on SHUTDOWN takes nothing new, tells every coordinator, and is drained once they all ended", async () => {
    const t = start();
    t.run("d-1");
    await flush();
    t.actor.send({ type: "SHUTDOWN" });
    await flush();
    // the fake coordinator ends as a real one does on SHUTDOWN (compensated, or handed over)
    expect(t.told).toEqual([expect.objectContaining({ type: "FINISHED", deployId: "d-1", outcome: expect.objectContaining({ code: "daemon-stopping" }) })]);
    expect(t.state()).toBe("drained");
    t.run("d-3");
    await flush();
    expect(t.told.at(-1)).toEqual({ type: "REFUSED", deployId: "d-3", reason: "ployzd is stopping", stopping: true });
    expect(t.child("d-3")).toBeUndefined();
  });

  it("a server whose subscription ended crashes the API (its supervisor restarts it)", async () => {
    const t = start();
    t.actor.send({ type: "SERVER_FAILED", error: "subscription to ployz.api.> ended: connection closed" });
    await flush();
    expect(t.actor.getSnapshot().status).toBe("done");
    expect(t.actor.getSnapshot().output).toEqual({ error: "subscription to ployz.api.> ended: connection closed" });
  });
});
