import { describe, expect, it } from "vitest";
import { createActor, fromCallback, setup, SimulatedClock } from "xstate";
import { deployMachine, type DeployEvent, type DeployInput } from "../../machines/deploy.ts";
import type { RollForwardOutput } from "../../machines/roll-forward.ts";
import type { DeployOperation, DeployOutcome, StartedCandidate, World } from "../../model/deploy.ts";
import { DeployFailedError, FencedError, StoreUnavailableError } from "../../model/errors.ts";
import type { Plan } from "../../model/plan.ts";
import { aSpec, aService } from "../fixtures/deploy.ts";
import { controllable, flush } from "../fixtures/effects.ts";

const spec = aSpec({ web: aService({ replicas: 2 }) });
const world: World = {
  head: null,
  unsettled: [],
  claimConflicts: [],
  bindAllowed: [],
  planInput: { baseCommitSeq: null, current: [], dead: {}, images: {}, reservedElsewhere: {}, machines: [], regions: {} },
  routes: [],
};
const plan: Plan = {
  namespace: "shop",
  baseCommitSeq: null,
  operations: [
    { type: "create", service: "web", slot: 0, revision: "r1", machine: "m1", reason: "" },
    { type: "create", service: "web", slot: 1, revision: "r1", machine: "m2", reason: "" },
  ],
  explanations: [],
  hash: "0123456789ab",
};
const candidate = (slot: number, machine: string): StartedCandidate => ({
  service: "web",
  slot,
  revision: "r1",
  machine,
  containerId: `c${slot}`,
  containerName: `web-${slot}`,
  startedAt: "2026-01-01T00:00:00.000Z",
});
const settled: RollForwardOutput = { failure: undefined, notes: [], dead: [] };

/** A lease that is held until RELEASE; the test tells the deploy when it is acquired or lost. */
const fakeLease = setup({}).createMachine({ initial: "held", states: { held: { on: { RELEASE: "released" } }, released: { type: "final" } } });

/** A deploy with every effect controllable by hand, on a simulated clock; `phases` is what it recorded as Status. */
function startDeploy(operation: DeployOperation = { kind: "deploy", spec }) {
  const clock = new SimulatedClock();
  clock.set(1_700_000_000_000);
  const observe = controllable<World>();
  const planning = controllable<Plan>();
  const lock = controllable<string[]>();
  const probe = controllable<void>();
  const claim = controllable<void, { token: number }>();
  const commit = controllable<{ seq: number; warnings: string[] }>();
  const removeCandidates = controllable<string[], { started: StartedCandidate[]; machines: string[]; token: number | undefined }>();
  const releaseLocks = controllable<string[], { locked: string[] }>();
  const rollForward = controllable<RollForwardOutput, { token: number | undefined }>();
  const starts: Array<{ sendBack: (event: DeployEvent) => void; stopped: boolean; input: { token: number } }> = [];
  const phases: string[] = [];
  const lockKeepers: Array<{ input: { locked: string[]; everyMs: number }; stopped: boolean }> = [];
  const machine = deployMachine.provide({
    actors: {
      lease: fakeLease as never,
      rollForward: rollForward.logic as never,
      observe: observe.logic as never,
      plan: planning.logic as never,
      lockParticipants: lock.logic as never,
      startCandidates: fromCallback(({ sendBack, input }) => {
        const start = { sendBack, stopped: false, input: input as { token: number } };
        starts.push(start);
        return () => {
          start.stopped = true;
        };
      }) as never,
      keepLocks: fromCallback(({ input }) => {
        const keeper = { input: input as { locked: string[]; everyMs: number }, stopped: false };
        lockKeepers.push(keeper);
        return () => {
          keeper.stopped = true;
        };
      }) as never,
      probeCandidates: probe.logic as never,
      claimRoutes: claim.logic as never,
      commit: commit.logic as never,
      removeCandidates: removeCandidates.logic as never,
      releaseLocks: releaseLocks.logic as never,
    },
    actions: { recordPhase: (_, params) => void phases.push(`${params.phase}:${params.state}`) },
  });
  const input: DeployInput = {
    deployId: "d-000001",
    namespace: "shop",
    machineId: "m1",
    incarnation: "i1",
    operation,
    preview: false,
    timing: { now: () => clock.now(), leaseTtlMs: 15_000, renewEveryMs: 5_000, retryEveryMs: 1_000, drainMs: 500 },
  };
  const actor = createActor(machine, { clock, input });
  actor.start();
  const state = () => actor.getSnapshot().value as unknown;
  const outcome = () => actor.getSnapshot().output as DeployOutcome | undefined;
  return { actor, state, outcome, phases, lockKeepers, observe, planning, lock, probe, claim, commit, removeCandidates, releaseLocks, rollForward, starts, send: (e: DeployEvent) => actor.send(e) };
}

type Deploy = ReturnType<typeof startDeploy>;

/** Drives a deploy to `stage`, each step succeeding. */
async function driveTo(stage: "settling" | "observing" | "planning" | "locking" | "starting" | "probing" | "claiming" | "committing" | "rollingForward", d: Deploy = startDeploy()) {
  d.send({ type: "LEASE_ACQUIRED", token: 41, warnings: [] });
  if (stage === "settling") {
    // an earlier coordinator left something: observing finds it unsettled
    d.observe.latest().resolve({ ...world, unsettled: ["leftover ployz-shop-web-0-x on m1 (deploy d-dead)"] });
    await flush();
    return d;
  }
  const order = ["observing", "planning", "locking", "starting", "probing", "claiming", "committing", "rollingForward"];
  const upTo = order.indexOf(stage);
  for (let i = 0; i < upTo; i++) {
    switch (order[i]) {
      case "observing":
        d.observe.latest().resolve(world);
        break;
      case "planning":
        d.planning.latest().resolve(plan);
        break;
      case "locking":
        d.lock.latest().resolve(["m1", "m2"]);
        break;
      case "starting":
        d.starts.at(-1)!.sendBack({ type: "STARTED", candidate: candidate(0, "m1") });
        d.starts.at(-1)!.sendBack({ type: "STARTED", candidate: candidate(1, "m2") });
        d.starts.at(-1)!.sendBack({ type: "ALL_STARTED" });
        break;
      case "probing":
        d.probe.latest().resolve();
        break;
      case "claiming":
        d.claim.latest().resolve();
        break;
      case "committing":
        d.commit.latest().resolve({ seq: 42, warnings: [] });
        break;
    }
    await flush();
  }
  return d;
}

/** Ends a deploy that is compensating or releasing: every clean-up effect succeeds. */
async function finish(d: Deploy) {
  if (JSON.stringify(d.state()).includes("compensating")) {
    d.removeCandidates.latest().resolve([]);
    await flush();
  }
  d.releaseLocks.latest().resolve([]);
  await flush();
}

describe("deployMachine", () => {
  it("goes lease → settle → observe → plan → lock → start → probe → commit → roll forward → release, and is deployed", async () => {
    const d = await driveTo("rollingForward");
    expect(d.state()).toEqual({ leased: { committed: "rollingForward" } });
    // the roll-forward holds the fence token: it may drain what the commit replaced
    expect(d.rollForward.latest().input).toMatchObject({ token: 41 });
    d.rollForward.latest().resolve({ ...settled, notes: ["routing web: 2 backends"] });
    await flush();
    expect(d.releaseLocks.latest().input).toMatchObject({ locked: ["m1", "m2"] });
    await finish(d);
    expect(d.state()).toBe("done");
    expect(d.outcome()).toMatchObject({ type: "deployed", commitSeq: 42, warnings: [], notes: [] });
    expect(d.removeCandidates.calls).toHaveLength(0);
    expect(d.phases).toEqual(["lease:started", "observe:started", "start:started", "commit:started", "commit:ok", "done:ok"]);
    expect(d.claim.calls).toHaveLength(1);
  });

  it("starts candidates with its fence token and stops the start loop once it leaves `starting`", async () => {
    const d = await driveTo("probing");
    expect(d.starts).toHaveLength(1);
    expect(d.starts[0]!.input.token).toBe(41);
    expect(d.starts[0]!.stopped).toBe(true);
  });

  describe("LEASE_LOST before the commit compensates: it removes every candidate and fails, naming the lease", () => {
    it.each(["observing", "settling", "planning", "locking", "starting", "probing", "claiming"] as const)("in %s", async (stage) => {
      const d = await driveTo(stage);
      d.send({ type: "LEASE_LOST", reason: "the deploy lease of namespace shop is now held by m2" });
      await flush();
      expect(d.state()).toEqual({ leased: "compensating" });
      const removal = d.removeCandidates.latest().input;
      if (stage === "probing" || stage === "claiming") expect(removal.started.map((c) => c.containerId)).toEqual(["c0", "c1"]);
      // machines the plan touched are swept for candidates whose start it never heard of
      if (["locking", "starting", "probing", "claiming"].includes(stage)) expect(removal.machines).toEqual(["m1", "m2"]);
      await finish(d);
      expect(d.outcome()).toMatchObject({ type: "failed", phase: "lease", code: "lease-lost", reason: "lost the lease: the deploy lease of namespace shop is now held by m2" });
      expect(d.commit.calls).toHaveLength(0);
    });
  });

  it("refreshes the participant locks while it starts and probes (exec probes need them); a refresh that fails is a warning, not a lost lease", async () => {
    const d = await driveTo("starting");
    expect(d.lockKeepers.map((k) => k.input)).toEqual([expect.objectContaining({ locked: ["m1", "m2"], everyMs: 5_000 })]);
    d.send({ type: "LOCK_REFRESH_FAILED", machine: "m2", reason: "machine m2 did not answer within 5000 ms" });
    await flush();
    expect(d.state()).toEqual({ leased: { preparing: "starting" } });
    d.starts[0]!.sendBack({ type: "ALL_STARTED" });
    await flush();
    expect(d.state()).toEqual({ leased: { preparing: "probing" } });
    expect(d.lockKeepers.map((k) => ({ locked: k.input.locked, stopped: k.stopped }))).toEqual([
      { locked: ["m1", "m2"], stopped: true },
      { locked: ["m1", "m2"], stopped: false },
    ]);
    d.send({ type: "LOCK_REFRESH_FAILED", machine: "m1", reason: "machine m1 did not answer within 5000 ms" });
    await flush();
    expect(d.state()).toEqual({ leased: { preparing: "probing" } });
    d.probe.latest().resolve();
    await flush();
    expect(d.lockKeepers[1]!.stopped).toBe(true); // committing needs no participant lock
    d.claim.latest().resolve();
    await flush();
    d.commit.latest().resolve({ seq: 42, warnings: [] });
    await flush();
    d.rollForward.latest().resolve(settled);
    await flush();
    await finish(d);
    expect(d.outcome()).toMatchObject({
      type: "deployed",
      warnings: ["could not refresh the lock on m2: machine m2 did not answer within 5000 ms", "could not refresh the lock on m1: machine m1 did not answer within 5000 ms"],
    });
  });

  it("a second LEASE_LOST (or any later failure) does not restart compensation or replace the first reason", async () => {
    const d = await driveTo("starting");
    d.send({ type: "LEASE_LOST", reason: "first" });
    await flush();
    d.send({ type: "LEASE_LOST", reason: "second" });
    d.starts[0]!.sendBack({ type: "START_FAILED", error: new Error("late") });
    await flush();
    expect(d.removeCandidates.calls).toHaveLength(1);
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "failed", reason: "lost the lease: first" });
  });

  it("LEASE_LOST while committing changes nothing: the fence decides, and the commit landed", async () => {
    const d = await driveTo("committing");
    d.send({ type: "LEASE_LOST", reason: "renewals timed out" });
    await flush();
    expect(d.state()).toEqual({ leased: "committing" });
    d.commit.latest().resolve({ seq: 42, warnings: [] });
    await flush();
    d.rollForward.latest().resolve(settled);
    await flush();
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "deployed", commitSeq: 42, warnings: ["lease lost after the commit: renewals timed out"] });
    expect(d.removeCandidates.calls).toHaveLength(0);
  });

  it("LEASE_LOST after the commit only warns: it rolls forward", async () => {
    const d = await driveTo("rollingForward");
    d.send({ type: "LEASE_LOST", reason: "gone" });
    await flush();
    expect(d.state()).toEqual({ leased: { committed: "rollingForward" } });
    d.rollForward.latest().resolve(settled);
    await flush();
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "deployed", warnings: ["lease lost after the commit: gone"] });
  });

  it("a route another namespace claimed first fails the deploy before its commit, naming the owner", async () => {
    const d = await driveTo("claiming");
    expect(d.claim.latest().input).toMatchObject({ token: 41 });
    d.claim.latest().reject(Object.assign(new Error("route shop.example.com/ of shop/web conflicts with shop.example.com/, claimed by evil/x"), { code: "route-conflict" }));
    await flush();
    expect(d.state()).toEqual({ leased: "compensating" });
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "failed", phase: "claim", code: "route-conflict" });
    expect(d.commit.calls).toHaveLength(0);
  });

  it("a commit fenced out by a later holder compensates and fails with code `fenced`", async () => {
    const d = await driveTo("committing");
    d.commit.latest().reject(new FencedError("deploy d-000001 may not commit: fence 41 of namespace shop is stale"));
    await flush();
    expect(d.state()).toEqual({ leased: "compensating" });
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "failed", phase: "commit", code: "fenced" });
  });

  it("a commit whose outcome is unknown removes nothing (the head might name the candidates) and says so", async () => {
    const d = await driveTo("committing");
    d.commit.latest().reject(new StoreUnavailableError("could not read or write the commit of deploy d-000001: TIMEOUT"));
    await flush();
    expect(d.removeCandidates.calls).toHaveLength(0);
    await finish(d);
    const outcome = d.outcome();
    expect(outcome).toMatchObject({ type: "failed", phase: "commit", code: "store-unavailable" });
    expect(outcome?.type === "failed" && outcome.lines.join()).toMatch(/outcome is unknown/);
  });

  it("a start that fails compensates with the start's error", async () => {
    const d = await driveTo("starting");
    d.starts[0]!.sendBack({ type: "STARTED", candidate: candidate(0, "m1") });
    d.starts[0]!.sendBack({ type: "START_FAILED", error: new DeployFailedError("image not found") });
    await flush();
    expect(d.removeCandidates.latest().input.started.map((c) => c.slot)).toEqual([0]);
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "failed", phase: "start", reason: "image not found" });
  });

  it("settles what an earlier coordinator left before planning, observes again, and plans on what is there then", async () => {
    const d = await driveTo("settling");
    expect(d.state()).toEqual({ leased: { preparing: "settling" } });
    expect(d.rollForward.latest().input).toMatchObject({ token: 41 });
    d.rollForward.latest().resolve({ ...settled, notes: ["removed ployz-shop-web-0-x on m1 (never committed, deploy d-dead)"] });
    await flush();
    expect(d.observe.calls).toHaveLength(2);
    // still unsettled the second time (say, a container that came back): it plans anyway, it does not loop
    d.observe.latest().resolve({ ...world, unsettled: ["leftover y"] });
    await flush();
    expect(d.state()).toEqual({ leased: { preparing: "planning" } });
    expect(d.rollForward.calls).toHaveLength(1);
    d.planning.latest().resolve(plan);
    await flush();
    d.lock.latest().resolve([]);
    await flush();
    expect(d.actor.getSnapshot().context.notes).toEqual(["removed ployz-shop-web-0-x on m1 (never committed, deploy d-dead)"]);
  });

  it("a failed settle (what an earlier coordinator left could not be finished) fails before planning", async () => {
    const d = await driveTo("settling");
    d.rollForward.latest().resolve({ failure: { phase: "drain", code: "fenced", reason: "refused" }, notes: [], dead: [] });
    await flush();
    expect(d.observe.calls).toHaveLength(1);
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "failed", phase: "settle", code: "fenced" });
  });

  it("SHUTDOWN before the commit compensates: ployzd is stopping", async () => {
    const d = await driveTo("probing");
    d.send({ type: "SHUTDOWN" });
    await flush();
    expect(d.state()).toEqual({ leased: "compensating" });
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "failed", phase: "shutdown", code: "daemon-stopping" });
  });

  it("SHUTDOWN after the commit hands what is left to the reconciler: deployed, with a warning", async () => {
    const d = await driveTo("rollingForward");
    d.send({ type: "SHUTDOWN" });
    await flush();
    expect(d.rollForward.latest().aborted).toBe(true);
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "deployed", commitSeq: 42 });
    expect(d.outcome()?.type === "deployed" && d.outcome()).toMatchObject({ warnings: [expect.stringMatching(/left of the roll-forward of commit 42 is the reconciler's/)] });
    expect(d.phases).toContain("handover:ok");
  });

  it("SHUTDOWN while committing waits for the commit, then hands over", async () => {
    const d = await driveTo("committing");
    d.send({ type: "SHUTDOWN" });
    await flush();
    expect(d.state()).toEqual({ leased: "committing" });
    d.commit.latest().resolve({ seq: 42, warnings: [] });
    await flush();
    expect(d.rollForward.calls).toHaveLength(0); // nothing to settle, and no roll-forward after the commit
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "deployed", commitSeq: 42 });
  });

  it("a roll-forward that stops after the commit is the reconciler's: still deployed, with the reason", async () => {
    const d = await driveTo("rollingForward");
    d.rollForward.latest().resolve({ failure: { phase: "derive", code: "fenced", reason: "a newer commit exists" }, notes: [], dead: [] });
    await flush();
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "deployed", commitSeq: 42 });
    expect(d.outcome()?.type === "deployed" && d.outcome()).toMatchObject({ warnings: expect.arrayContaining([expect.stringMatching(/stopped in phase derive: a newer commit exists/)]) });
  });

  it("nothing to do (the same spec again): releases without locking, starting or committing", async () => {
    const d = startDeploy();
    d.send({ type: "LEASE_ACQUIRED", token: 41, warnings: [] });
    await flush();
    const head: World["head"] = { type: "commit", seq: 40, namespace: "shop", deployId: "d-0", authority: "m1", parentSeq: null, spec, revisions: {}, placement: [], planHash: "x", createdAt: "2026-01-01T00:00:00.000Z" };
    d.observe.latest().resolve({ ...world, head });
    await flush();
    d.planning.latest().resolve({ ...plan, baseCommitSeq: 40, operations: [{ type: "keep", service: "web", slot: 0, revision: "r1", machine: "m1", containerId: "c0" }] });
    await flush();
    expect(d.lock.calls).toHaveLength(0);
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "unchanged" });
    expect(d.commit.calls).toHaveLength(0);
    expect(d.starts).toHaveLength(0);
  });

  it("a first deploy commits even when it has nothing to start", async () => {
    const d = await driveTo("planning");
    d.planning.latest().resolve({ ...plan, operations: [] });
    await flush();
    expect(d.state()).toEqual({ leased: { preparing: "locking" } });
  });

  it("a removal commits nothing when the namespace never had a commit", async () => {
    const d = await driveTo("planning", startDeploy({ kind: "remove" }));
    d.planning.latest().resolve({ ...plan, operations: [] });
    await flush();
    expect(d.lock.calls).toHaveLength(0);
    await finish(d);
    expect(d.outcome()).toMatchObject({ type: "unchanged" });
    expect(d.commit.calls).toHaveLength(0);
  });
});
