import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeployFailedError } from "../../model/errors.ts";
import { formatOperation, formatPlan } from "../../model/format-operation.ts";
import type { InstanceRecord } from "../../model/instance.ts";
import type { NamespaceSpec, ServiceInput } from "../../model/manifest.ts";
import { MAX_INSTANCES_PER_NAMESPACE, planDeploy, planHash } from "../../model/plan-deploy.ts";
import type { MachineView, Operation, Plan, PlanInput } from "../../model/plan.ts";
import { REGION_ROLES, type RegionRole } from "../../model/region.ts";
import { aPlanInput, aService, aSpec, aView, anInstance, briefly, committed, GiB, MiB, revisionOf } from "../fixtures/deploy.ts";
import { aMachine } from "../fixtures/machines.ts";
import { thrownBy } from "../fixtures/errors.ts";

const threeMachines = [
  aView(aMachine({ id: "m1", zone: "z1" })),
  aView(aMachine({ id: "m2", zone: "z2" })),
  aView(aMachine({ id: "m3", zone: "z3" })),
];

/** The instances of `spec` as a previous deploy left them: slot i on the i-th machine. */
function deployed(spec: NamespaceSpec, service: string, count: number, revision?: string): InstanceRecord[] {
  return Array.from({ length: count }, (_, slot) => anInstance({ service, slot, machine: `m${(slot % 3) + 1}`, of: spec, ...(revision ? { revision } : {}) }));
}

const failure = (run: () => unknown) => thrownBy(DeployFailedError, run);

describe("planDeploy: what changes", () => {
  it("keeps every instance of an unchanged service, and gives the same hash every time", () => {
    const spec = aSpec({ web: aService({ replicas: 3 }) });
    const input = aPlanInput(spec, threeMachines, { baseCommitSeq: 7, current: deployed(spec, "web", 3) });
    const plan = planDeploy(input);

    expect(briefly(plan)).toEqual(["keep web#0 on m1", "keep web#1 on m2", "keep web#2 on m3"]);
    expect(plan.explanations[0]!.change).toBe("unchanged");
    expect(planDeploy(input).hash).toBe(plan.hash);
  });

  it("replaces every slot when the image changes, creating before removing", () => {
    const before = aSpec({ web: aService({ replicas: 2 }) });
    const after = aSpec({ web: aService({ replicas: 2, image: "registry.example/web:2" }) });
    const plan = planDeploy(aPlanInput(after, threeMachines, { baseCommitSeq: 3, current: deployed(before, "web", 2) }));
    const revision = revisionOf(after, "web");

    expect(briefly(plan)).toEqual(["create web#0 on m1", "create web#1 on m2", "remove web#0 on m1", "remove web#1 on m2"]);
    expect(plan.operations.filter((op) => op.type === "create").every((op) => op.revision === revision)).toBe(true);
    expect(plan.operations[2]).toMatchObject({ reason: `replaced by rev ${revision} on m1`, containerId: deployed(before, "web", 1)[0]!.containerId });
    expect(plan.explanations[0]!.change).toBe("changed");
  });

  it("removes the highest slots when scaling down", () => {
    const before = aSpec({ web: aService({ replicas: 3 }) });
    const after = aSpec({ web: aService({ replicas: 1 }) });
    const plan = planDeploy(aPlanInput(after, threeMachines, { current: deployed(before, "web", 3) }));

    // The replica count is not part of the revision: slot 0 stays, only the surplus goes.
    expect(briefly(plan)).toEqual(["keep web#0 on m1", "remove web#1 on m2", "remove web#2 on m3"]);
    expect(plan.operations.slice(1).map((op) => op.type === "remove" && op.reason)).toEqual(["scaled down to 1 replica", "scaled down to 1 replica"]);
  });

  it("creates only the new service next to an unchanged one", () => {
    const before = aSpec({ web: aService() });
    const after = aSpec({ web: aService(), api: aService({ image: "registry.example/api:1" }) });
    const plan = planDeploy(aPlanInput(after, threeMachines, { current: deployed(before, "web", 1) }));

    expect(briefly(plan)).toEqual(["keep web#0 on m1", "create api#0 on m1"]);
    expect(plan.explanations.map((e) => [e.service, e.change])).toEqual([["api", "new"], ["web", "unchanged"]]);
  });

  it("removes every instance of a service gone from the spec", () => {
    const before = aSpec({ web: aService(), worker: aService({ replicas: 2 }) });
    const after = aSpec({ web: aService() });
    const plan = planDeploy(aPlanInput(after, threeMachines, { current: [...deployed(before, "web", 1), ...deployed(before, "worker", 2)] }));

    expect(briefly(plan)).toEqual(["keep web#0 on m1", "remove worker#0 on m1", "remove worker#1 on m2"]);
    expect(plan.operations[1]).toMatchObject({ reason: "service removed from the spec" });
    expect(plan.explanations[1]).toMatchObject({ service: "worker", change: "removed", revision: revisionOf(before, "worker") });
  });

  it("replaces a global service on each machine in its own slot", () => {
    const before = aSpec({ agent: aService({ mode: "global" }) });
    const after = aSpec({ agent: aService({ mode: "global", image: "registry.example/agent:2" }) });
    const current = [anInstance({ service: "agent", slot: 0, machine: "m2", of: before }), anInstance({ service: "agent", slot: 1, machine: "m1", of: before })];
    const plan = planDeploy(aPlanInput(after, threeMachines.slice(0, 2), { current }));

    expect(briefly(plan)).toEqual(["create agent#0 on m2", "create agent#1 on m1", "remove agent#0 on m2", "remove agent#1 on m1"]);
  });
});

describe("planDeploy: what runs", () => {
  it("replaces a dead instance of an unchanged service in its own slot, keeping the live ones", () => {
    const spec = aSpec({ web: aService({ replicas: 3 }) });
    const current = deployed(spec, "web", 3);
    const plan = planDeploy(aPlanInput(spec, threeMachines, { baseCommitSeq: 7, current, dead: { [current[1]!.containerId]: "exited (137)" } }));

    expect(briefly(plan)).toEqual(["keep web#0 on m1", "keep web#2 on m3", "create web#1 on m2", "remove web#1 on m2"]);
    expect(plan.operations[2]).toMatchObject({ reason: expect.stringMatching(/^replaces a dead instance \(its container exited \(137\)\); /) });
    expect(plan.operations[3]).toMatchObject({ reason: "its container exited (137); replaced on m2", containerId: current[1]!.containerId });
    expect(plan.explanations[0]!.change).toBe("changed");
  });

  it("replaces a dead instance of a global service on its machine", () => {
    const spec = aSpec({ agent: aService({ mode: "global" }) });
    const current = threeMachines.map((v, slot) => anInstance({ service: "agent", slot, machine: v.machine.id, of: spec }));
    const plan = planDeploy(aPlanInput(spec, threeMachines, { baseCommitSeq: 7, current, dead: { [current[2]!.containerId]: "is missing" } }));

    expect(briefly(plan)).toEqual(["keep agent#0 on m1", "keep agent#1 on m2", "create agent#2 on m3", "remove agent#2 on m3"]);
    expect(plan.operations[3]).toMatchObject({ reason: "its container is missing" });
  });

  it("the revision follows the exact image: the same spec with a re-pushed tag replaces every instance", () => {
    const spec = aSpec({ web: aService({ replicas: 2 }) });
    const current = deployed(spec, "web", 2);
    const plan = planDeploy(aPlanInput(spec, threeMachines, { current, images: { [spec.services.web!.image]: `sha256:${"9".repeat(64)}` } }));
    expect(briefly(plan)).toEqual(["create web#0 on m1", "create web#1 on m2", "remove web#0 on m1", "remove web#1 on m2"]);
  });

  it("refuses, before placing anything, a namespace of more instances than the cap, naming each service's count", () => {
    const many = aSpec({ a: aService({ replicas: 100 }), b: aService({ mode: "global" }) });
    const machines = Array.from({ length: 200 }, (_, i) => aView(aMachine({ id: `m${i}` })));
    const ok = planDeploy(aPlanInput(many, machines));
    expect(ok.operations).toHaveLength(300);
    const tooMany = aSpec(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`s${i}`, aService({ replicas: 100 })])));
    const error = failure(() => planDeploy(aPlanInput(tooMany, machines)));
    expect(error.message).toBe(`namespace shop would run ${11 * 100} instances (${Array.from({ length: 11 }, (_, i) => `s${i}: 100`).join(", ")}); at most ${MAX_INSTANCES_PER_NAMESPACE} per namespace`);
  });
});

describe("planDeploy: unreachable machines", () => {
  const down = aView(aMachine({ id: "m1", zone: "z1" }), { reachable: false, error: "no responder" });

  it("fails when an unreachable machine holds an instance of a changed service", () => {
    const before = aSpec({ web: aService() });
    const after = aSpec({ web: aService({ image: "registry.example/web:2" }) });
    const error = failure(() => planDeploy(aPlanInput(after, [down, ...threeMachines.slice(1)], { current: deployed(before, "web", 1) })));

    expect(error.message).toBe("cannot replace web#0 on m1: the machine is unreachable (no responder), so the state of its instances is unknown");
    expect(error.hint).toBe("bring m1 back, or remove it from the cluster, then deploy again");
  });

  it("fails when an instance would have to move off an unreachable machine", () => {
    const spec = aSpec({ web: aService() });
    const error = failure(() => planDeploy(aPlanInput(spec, [down, ...threeMachines.slice(1)], { current: deployed(spec, "web", 1), regions: { local: "draining" } })));
    expect(error.message).toMatch(/^cannot move web#0 on m1: the machine is unreachable/);
  });

  it("leaves an unchanged instance on an unreachable machine where it is", () => {
    const spec = aSpec({ web: aService() });
    expect(briefly(planDeploy(aPlanInput(spec, [down], { current: deployed(spec, "web", 1) })))).toEqual(["keep web#0 on m1"]);
  });
});

describe("plan hash and format", () => {
  const spec = aSpec({ web: aService({ replicas: 2 }) });
  const plan = planDeploy(aPlanInput(spec, threeMachines, { baseCommitSeq: 5 }));

  it("hashes namespace, base commit and operations, not their reasons", () => {
    const reworded = plan.operations.map((op) => (op.type === "keep" ? op : { ...op, reason: "because" }));
    const moved = plan.operations.map((op, i): Operation => (i === 0 ? { ...op, machine: "m3" } : op));
    expect(planHash("shop", 5, reworded)).toBe(plan.hash);
    expect(planHash("shop", 5, moved)).not.toBe(plan.hash);
    expect(planHash("shop", 6, plan.operations)).not.toBe(plan.hash);
    expect(planHash("other", 5, plan.operations)).not.toBe(plan.hash);
  });

  it("formats each operation on one line with its reason", () => {
    const rev = revisionOf(spec, "web");
    const keep: Operation = { type: "keep", service: "api", slot: 1, revision: rev, machine: "m2", containerId: "c1" };
    const remove: Operation = { type: "remove", service: "web", slot: 0, revision: "0ld0ld0ld0ld", machine: "m1", containerId: "c2", reason: `replaced by rev ${rev} on m2` };

    expect(formatOperation(plan.operations[0]!)).toBe(`create web#0 rev ${rev} on m1 — lowest machine id among equals`);
    expect(formatOperation(plan.operations[1]!)).toBe(`create web#1 rev ${rev} on m2 — zone z2 had fewest instances of web (0), lowest machine id among equals`);
    expect(formatOperation(keep)).toBe(`keep api#1 rev ${rev} on m2`);
    expect(formatOperation(remove)).toBe(`remove web#0 rev 0ld0ld0ld0ld on m1 — replaced by rev ${rev} on m2`);
    expect(formatPlan(plan)).toEqual([`plan ${plan.hash} for shop, base commit 5: 2 to create, 0 to remove, 0 to keep`, ...plan.operations.map(formatOperation)]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random clusters and specs.

const REGIONS = ["r1", "r2", "r3"] as const;
const SERVICES = ["api", "db", "web", "worker"] as const;

const machineArb = (id: string) =>
  fc.record({
    region: fc.constantFrom(...REGIONS),
    zone: fc.option(fc.constantFrom("z1", "z2", "z3"), { nil: undefined }),
    freeMemory: fc.oneof(fc.constantFrom(0, 256 * MiB, GiB, 4 * GiB, 16 * GiB), fc.integer({ min: 0, max: 16 * GiB })),
    cores: fc.integer({ min: 1, max: 8 }),
    reachable: fc.integer({ min: 0, max: 7 }).map((n) => n > 0),
    elsewhere: fc.constantFrom(0, 0, 0, 0.5, 1, 2, 6),
  }).map(({ region, zone, freeMemory, cores, reachable, elsewhere }) => ({
    view: aView(aMachine({ id, region, ...(zone ? { zone } : {}) }), { freeMemory, cores, reachable, error: "timeout" }),
    elsewhere,
  }));

const clusterArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.record({
    machines: fc.tuple(...Array.from({ length: n }, (_, i) => machineArb(`m${i + 1}`))),
    roles: fc.record({ r1: roleArb(), r2: roleArb(), r3: roleArb() }, { requiredKeys: [] }),
  }),
);

function roleArb(): fc.Arbitrary<RegionRole> {
  // Mostly regions that take instances, so that plans often succeed.
  return fc.oneof({ arbitrary: fc.constantFrom<RegionRole>("home_data", "compute"), weight: 4 }, { arbitrary: fc.constantFrom(...REGION_ROLES), weight: 1 });
}

/** A value one time in five, undefined otherwise. */
function sometimes<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: arb, weight: 1 });
}

const serviceArb: fc.Arbitrary<ServiceInput> = fc
  .record({
    image: fc.constantFrom("registry.example/web:1", "registry.example/web:2"),
    replicas: fc.integer({ min: 0, max: 6 }),
    global: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    cpu: fc.option(fc.constantFrom(0.25, 0.5, 1, 2), { nil: undefined }),
    memory: fc.option(fc.constantFrom(64 * MiB, 256 * MiB, GiB, 3 * GiB), { nil: undefined }),
    stateful: fc.boolean(),
    published: sometimes(fc.constantFrom(8080, 9090)),
    regions: sometimes(fc.subarray([...REGIONS], { minLength: 1 })),
  })
  .map((s) => ({
    image: s.image,
    replicas: s.replicas,
    mode: s.global ? ("global" as const) : ("replicated" as const),
    stateful: s.stateful,
    resources: { ...(s.cpu ? { cpu: s.cpu } : {}), ...(s.memory ? { memory: s.memory } : {}) },
    ports: s.published ? [{ container: 80, published: s.published }] : [],
    placement: s.regions ? { regions: s.regions } : {},
  }));

const specArb = fc
  .uniqueArray(fc.constantFrom(...SERVICES), { minLength: 1, maxLength: 4 })
  .chain((names) => fc.tuple(...names.map((name) => serviceArb.map((s) => [name, s] as const))))
  .map((entries) => aSpec(Object.fromEntries(entries)));

/** What a previous deploy may have left: some slots of each service (or of one now gone), at its current revision or an old one. */
const currentArb = (spec: NamespaceSpec, machineCount: number) =>
  fc
    .tuple(
      ...[...SERVICES].map((service) =>
        fc.uniqueArray(
          fc.record({
            slot: fc.integer({ min: 0, max: 7 }),
            machine: fc.integer({ min: 1, max: machineCount + 1 }).map((i) => `m${i}`),
            unchanged: fc.boolean(),
          }),
          { selector: (i) => i.slot, maxLength: service === "worker" ? 2 : 5 },
        ).map((instances) =>
          instances.map(({ slot, machine, unchanged }) =>
            anInstance({ service, slot, machine, ...(unchanged && spec.services[service] ? { of: spec } : { revision: "0ld0ld0ld0ld", cpu: 0.5 }) }),
          ),
        ),
      ),
    )
    .map((lists) => lists.flat());

const planInputArb: fc.Arbitrary<PlanInput> = fc
  .tuple(clusterArb, specArb)
  .chain(([cluster, spec]) =>
    fc.tuple(fc.constant(cluster), fc.constant(spec), fc.oneof(fc.constant<InstanceRecord[]>([]), currentArb(spec, cluster.machines.length))),
  )
  .map(([cluster, spec, current]) =>
    aPlanInput(
      spec,
      cluster.machines.map((m) => m.view),
      {
        baseCommitSeq: current.length ? 1 : null,
        current,
        regions: cluster.roles,
        reservedElsewhere: Object.fromEntries(cluster.machines.map((m) => [m.view.machine.id, { cpu: m.elsewhere, memory: 0 }])),
      },
    ),
  );

/** Plans, or undefined when planning refused — which must then be a DeployFailedError. */
function tryPlan(input: PlanInput): Plan | undefined {
  try {
    return planDeploy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(DeployFailedError);
    return undefined;
  }
}

const RUNS = { numRuns: 200 };
const role = (input: PlanInput, view: MachineView) => input.regions[view.machine.region] ?? "compute";
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe("planDeploy properties", () => {
  it("never creates in a disabled or draining region or on an unreachable machine", () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const plan = tryPlan(input);
        for (const op of plan?.operations ?? []) {
          if (op.type !== "create") continue;
          const view = input.machines.find((v) => v.machine.id === op.machine)!;
          expect(view.reachable).toBe(true);
          expect(["home_data", "compute"]).toContain(role(input, view));
        }
      }),
      RUNS,
    );
  });

  it("fits every machine's creates into its free memory and its unreserved, unkept CPU", () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const plan = tryPlan(input);
        if (!plan) return;
        const cpuOf = new Map(input.current.map((i) => [i.containerId, i.resources.cpu ?? 0]));
        for (const view of input.machines) {
          if (!view.reachable) continue;
          const id = view.machine.id;
          const here = plan.operations.filter((op) => op.machine === id);
          const created = here.filter((op) => op.type === "create").map((op) => input.spec.services[op.service]!.resources);
          const memory = sum(created.map((r) => r.memory ?? 0));
          const cpu = sum(created.map((r) => r.cpu ?? 0));
          const kept = sum(here.map((op) => (op.type === "keep" ? cpuOf.get(op.containerId)! : 0)));
          if (memory > 0) expect(memory).toBeLessThanOrEqual(view.capacity.memory.freeBytes);
          if (cpu > 0) expect(cpu).toBeLessThanOrEqual(view.capacity.cpu.cores - (input.reservedElsewhere[id]?.cpu ?? 0) - kept + 1e-9);
        }
      }),
      RUNS,
    );
  });

  it("keeps everything, moving nothing, when the same spec is planned again after committing", () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const first = tryPlan(input);
        if (!first) return;
        const instances = committed(first, input.spec, input.current);
        // The started containers now use the memory they reserved.
        const machines = input.machines.map((view): MachineView => {
          if (!view.reachable) return view;
          const used = sum(first.operations.filter((op) => op.type === "create" && op.machine === view.machine.id).map((op) => input.spec.services[op.service]!.resources.memory ?? 0));
          return { ...view, capacity: { ...view.capacity, memory: { ...view.capacity.memory, freeBytes: view.capacity.memory.freeBytes - used } } };
        });
        const second = planDeploy({ ...input, machines, current: instances, baseCommitSeq: 2 });
        expect(second.operations.every((op) => op.type === "keep")).toBe(true);
        expect(second.operations).toHaveLength(instances.length);
      }),
      RUNS,
    );
  });

  it("is deterministic: the same input, in any order, gives the same plan and hash", () => {
    fc.assert(
      fc.property(
        planInputArb.chain((input) =>
          fc.tuple(fc.constant(input), fc.shuffledSubarray(input.machines, { minLength: input.machines.length }), fc.shuffledSubarray(input.current, { minLength: input.current.length })),
        ),
        ([input, machines, current]) => {
          const outcome = (i: PlanInput) => {
            try {
              return planDeploy(i);
            } catch (error) {
              return (error as Error).message;
            }
          };
          const plan = outcome(input);
          expect(outcome(input)).toEqual(plan);
          expect(outcome({ ...input, machines, current })).toEqual(plan);
        },
      ),
      RUNS,
    );
  });

  it("ends each replicated service with exactly slots 0..replicas-1, and touches each current instance once", () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const plan = tryPlan(input);
        if (!plan) return;
        for (const [name, service] of Object.entries(input.spec.services)) {
          const slots = plan.operations.filter((op) => op.service === name && op.type !== "remove").map((op) => op.slot);
          if (service.mode === "replicated") expect(slots.sort((a, b) => a - b)).toEqual([...Array(service.replicas).keys()]);
          else expect(new Set(slots).size).toBe(slots.length);
        }
        const touched = plan.operations.filter((op) => op.type !== "create").map((op) => op.containerId);
        expect(touched.sort()).toEqual(input.current.map((i) => i.containerId).sort());
      }),
      RUNS,
    );
  });

  it("succeeds often enough on random input for the properties to mean something", () => {
    const samples = fc.sample(planInputArb, { numRuns: 300, seed: 42 });
    const planned = samples.map(tryPlan).filter((plan): plan is Plan => plan !== undefined);
    expect(planned.length).toBeGreaterThan(samples.length / 3);
    expect(planned.filter((plan) => plan.operations.some((op) => op.type === "create")).length).toBeGreaterThan(samples.length / 4);
  });
});
