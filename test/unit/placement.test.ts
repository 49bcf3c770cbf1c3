import { describe, expect, it } from "vitest";
import { DeployFailedError } from "../../model/errors.ts";
import {
  chooseMachine,
  constraintMismatches,
  emptyLedger,
  formatMemory,
  recordCreate,
  recordKeep,
  rejectionReasons,
  type PlacementContext,
  type ReachableView,
} from "../../model/placement.ts";
import { planDeploy } from "../../model/plan-deploy.ts";
import type { MachineView, Plan } from "../../model/plan.ts";
import { aPlanInput, aService, aSpec, aView, anInstance, briefly, GiB, MiB } from "../fixtures/deploy.ts";
import { aMachine } from "../fixtures/machines.ts";
import { thrownBy } from "../fixtures/errors.ts";

const creates = (plan: Plan) => plan.operations.filter((op) => op.type === "create");
const candidate = (plan: Plan, service: string, machine: string) =>
  plan.explanations.find((e) => e.service === service)!.candidates.find((c) => c.machine === machine)!;

const failure = (run: () => unknown) => thrownBy(DeployFailedError, run);

function contextFor(machines: MachineView[], regions: PlacementContext["regions"] = {}): PlacementContext {
  return { regions, reservedElsewhere: {}, machines, ledger: emptyLedger() };
}

describe("placing a first deploy", () => {
  it("spreads three replicas over three zones before filling a roomier machine", () => {
    const m1 = aView(aMachine({ id: "m1", zone: "z1" }), { freeMemory: 2 * GiB });
    const m2 = aView(aMachine({ id: "m2", zone: "z2" }), { freeMemory: 2 * GiB });
    const m3 = aView(aMachine({ id: "m3", zone: "z3" }), { freeMemory: 2 * GiB });
    const big = aView(aMachine({ id: "m4", zone: "z1" }), { freeMemory: 32 * GiB });
    const plan = planDeploy(aPlanInput(aSpec({ web: aService({ replicas: 3 }) }), [m1, m2, m3, big]));

    expect(briefly(plan)).toEqual(["create web#0 on m4", "create web#1 on m2", "create web#2 on m3"]);
    expect(creates(plan)[0]!.reason).toBe("most free memory (32 GiB)");
    expect(creates(plan)[1]!.reason).toBe("zone z2 had fewest instances of web (0), lowest machine id among equals");
  });

  it("spreads over machines within a zone, then by free memory", () => {
    const machines = [
      aView(aMachine({ id: "a", zone: "z1" }), { freeMemory: 1 * GiB }),
      aView(aMachine({ id: "b", zone: "z1" }), { freeMemory: 3 * GiB }),
    ];
    const plan = planDeploy(aPlanInput(aSpec({ web: aService({ replicas: 3, resources: { memory: "512Mi" } }) }), machines));

    expect(briefly(plan)).toEqual(["create web#0 on b", "create web#1 on a", "create web#2 on b"]);
    expect(creates(plan)[1]!.reason).toBe("fewest instances of web on the machine (0)");
  });

  it("puts a stateful service in a home_data region and a stateless one in a compute region", () => {
    const home = aView(aMachine({ id: "h1", region: "home" }));
    const edge = aView(aMachine({ id: "c1", region: "edge" }), { freeMemory: 64 * GiB });
    const spec = aSpec({ db: aService({ image: "postgres:16", stateful: true }), web: aService() });
    const plan = planDeploy(aPlanInput(spec, [home, edge], { regions: { home: "home_data", edge: "compute" } }));

    expect(briefly(plan)).toEqual(["create db#0 on h1", "create web#0 on c1"]);
    expect(creates(plan)[0]!.reason).toBe("home_data region preferred for stateful");
    expect(creates(plan)[1]!.reason).toBe("compute region preferred for stateless");
    expect(candidate(plan, "db", "c1").reasons).toEqual(["db#0 not placed here: compute region, home_data preferred for stateful"]);
  });

  it("falls back to a compute region when no home_data machine can take a stateful service", () => {
    const home = aView(aMachine({ id: "h1", region: "home" }), { freeMemory: 100 * MiB });
    const edge = aView(aMachine({ id: "c1", region: "edge" }));
    const spec = aSpec({ db: aService({ stateful: true, resources: { memory: "1Gi" } }) });
    const plan = planDeploy(aPlanInput(spec, [home, edge], { regions: { home: "home_data" } }));

    expect(briefly(plan)).toEqual(["create db#0 on c1"]);
    expect(candidate(plan, "db", "h1")).toMatchObject({ eligible: false, reasons: ["needs 1 GiB memory, 100 MiB free"] });
  });
});

describe("region roles", () => {
  const eu = aView(aMachine({ id: "m1", region: "eu" }));
  const us = aView(aMachine({ id: "m2", region: "us" }));

  it("never places in a disabled region, and says so for every service", () => {
    const plan = planDeploy(aPlanInput(aSpec({ web: aService({ replicas: 2 }), api: aService() }), [eu, us], { regions: { eu: "disabled" } }));

    expect(briefly(plan)).toEqual(["create api#0 on m2", "create web#0 on m2", "create web#1 on m2"]);
    for (const service of ["web", "api"]) {
      expect(candidate(plan, service, "m1")).toEqual({ machine: "m1", region: "eu", eligible: false, placed: 0, reasons: ["region eu is disabled"] });
    }
  });

  it("gives a draining region nothing new, and moves its instances elsewhere saying why", () => {
    const spec = aSpec({ web: aService({ replicas: 2 }) });
    const current = [anInstance({ service: "web", slot: 0, machine: "m1", of: spec }), anInstance({ service: "web", slot: 1, machine: "m2", of: spec })];
    const plan = planDeploy(aPlanInput(spec, [eu, us], { current, baseCommitSeq: 4, regions: { eu: "draining" } }));

    expect(briefly(plan)).toEqual(["keep web#1 on m2", "create web#0 on m2", "remove web#0 on m1"]);
    const [, create, remove] = plan.operations;
    expect(create).toMatchObject({ reason: "moved from m1 (region eu is draining); only eligible machine" });
    expect(remove).toMatchObject({ reason: "moved to m2: region eu is draining" });
    expect(candidate(plan, "web", "m1").reasons).toEqual(["region eu is draining, no new instances"]);
    expect(plan.explanations[0]!.change).toBe("unchanged");
  });

  it("moves instances off a machine that is no longer an active member", () => {
    const spec = aSpec({ web: aService() });
    const current = [anInstance({ service: "web", slot: 0, machine: "gone", of: spec })];
    const plan = planDeploy(aPlanInput(spec, [us], { current }));

    expect(briefly(plan)).toEqual(["create web#0 on m2", "remove web#0 on gone"]);
    expect(plan.operations[1]).toMatchObject({ reason: "moved to m2: machine gone is no longer an active member" });
  });
});

describe("placement constraints", () => {
  const machines = [
    aView(aMachine({ id: "m1", region: "eu", zone: "z1" })),
    aView(aMachine({ id: "m2", region: "eu", zone: "z2" })),
    aView(aMachine({ id: "m3", region: "us" })),
  ];

  it("places only where the constraints hold and explains each mismatch", () => {
    const plan = planDeploy(aPlanInput(aSpec({ web: aService({ replicas: 2, placement: { zones: ["z2"] } }) }), machines));

    expect(briefly(plan)).toEqual(["create web#0 on m2", "create web#1 on m2"]);
    expect(candidate(plan, "web", "m1").reasons).toEqual(["zone z1 is not in placement.zones [z2]"]);
    expect(candidate(plan, "web", "m3").reasons).toEqual(["no zone is not in placement.zones [z2]"]);
    expect(candidate(plan, "web", "m2")).toMatchObject({ eligible: true, placed: 2 });
  });

  it("fails naming every machine when no machine matches", () => {
    const spec = aSpec({ web: aService({ placement: { regions: ["ap"], machines: ["m1"] } }) });
    expect(failure(() => planDeploy(aPlanInput(spec, machines))).message).toBe(
      "cannot place web#0: " +
        "m1: region eu is not in placement.regions [ap]; " +
        "m2: region eu is not in placement.regions [ap], machine m2 is not in placement.machines [m1]; " +
        "m3: region us is not in placement.regions [ap], machine m3 is not in placement.machines [m1]",
    );
  });

  it("lists what a machine lacks", () => {
    const machine = aMachine({ id: "m1", region: "eu" });
    expect(constraintMismatches(machine, { regions: ["eu"], zones: ["z1"] })).toEqual(["no zone is not in placement.zones [z1]"]);
    expect(constraintMismatches(machine, {})).toEqual([]);
  });
});

describe("resources", () => {
  it("fails when no machine has the memory, naming the reason for each", () => {
    const machines = [aView(aMachine({ id: "m1", region: "eu" })), aView(aMachine({ id: "m2" }), { freeMemory: 100 * MiB })];
    const spec = aSpec({ web: aService({ resources: { memory: "512Mi" } }) });
    const error = failure(() => planDeploy(aPlanInput(spec, machines, { regions: { eu: "disabled" } })));

    expect(error.message).toBe("cannot place web#0: m1: region eu is disabled; m2: needs 512 MiB memory, 100 MiB free");
    expect(error.code).toBe("deploy-failed");
    expect(error.hint).toMatch(/add machines or capacity/);
  });

  it("counts the memory this plan already placed on a machine", () => {
    const spec = aSpec({ web: aService({ replicas: 3, resources: { memory: "1Gi" } }) });
    const error = failure(() => planDeploy(aPlanInput(spec, [aView(aMachine({ id: "m1" }), { freeMemory: 2.5 * GiB })])));
    expect(error.message).toBe("cannot place web#2: m1: needs 1 GiB memory, 512 MiB free after 2 GiB placed by this plan");
  });

  it("counts memory reserved by other namespaces and kept instances, even when it looks free", () => {
    // 16 GiB total and all of it free right now, but 14 GiB are promised to instances that use less.
    const m1 = aView(aMachine({ id: "m1" }), { freeMemory: 16 * GiB });
    const spec = aSpec({ api: aService({ resources: { memory: "2Gi" } }), web: aService({ resources: { memory: "1Gi" } }) });
    const current = [anInstance({ service: "api", slot: 0, machine: "m1", of: spec })];
    const input = aPlanInput(spec, [m1], { current, reservedElsewhere: { m1: { cpu: 0, memory: 13.5 * GiB } } });
    expect(failure(() => planDeploy(input)).message).toContain("needs 1 GiB memory, 512 MiB of 16 GiB not yet reserved");
    expect(briefly(planDeploy({ ...input, reservedElsewhere: { m1: { cpu: 0, memory: 12 * GiB } } }))).toEqual(["keep api#0 on m1", "create web#0 on m1"]);
  });

  it("counts CPU reserved by other namespaces, kept instances and this plan", () => {
    const m1 = aView(aMachine({ id: "m1" }), { cores: 4 });
    const spec = aSpec({ api: aService({ resources: { cpu: 1 } }), web: aService({ replicas: 2, resources: { cpu: 1 } }) });
    const current = [anInstance({ service: "api", slot: 0, machine: "m1", of: spec })];
    const input = aPlanInput(spec, [m1], { current, reservedElsewhere: { m1: { cpu: 1.5, memory: 0 } } });

    expect(failure(() => planDeploy(input)).message).toBe(
      "cannot place web#1: m1: needs 1 cpu, 0.5 free of 4 cores (1.5 reserved by other namespaces, 1 kept by this namespace, 1 placed by this plan)",
    );
    expect(briefly(planDeploy({ ...input, reservedElsewhere: { m1: { cpu: 1, memory: 0 } } }))).toEqual([
      "keep api#0 on m1",
      "create web#0 on m1",
      "create web#1 on m1",
    ]);
  });
});

describe("unreachable machines", () => {
  it("get no new instance; the reason carries the error", () => {
    const machines = [aView(aMachine({ id: "m1" }), { reachable: false, error: "no responder" }), aView(aMachine({ id: "m2" }))];
    const plan = planDeploy(aPlanInput(aSpec({ web: aService({ replicas: 2 }) }), machines));

    expect(briefly(plan)).toEqual(["create web#0 on m2", "create web#1 on m2"]);
    expect(candidate(plan, "web", "m1")).toMatchObject({ eligible: false, reasons: ["unreachable: no responder"] });
  });
});

describe("one instance per machine", () => {
  const machines = [
    aView(aMachine({ id: "m1", region: "eu" })),
    aView(aMachine({ id: "m2", region: "eu" })),
    aView(aMachine({ id: "m3", region: "off" })),
    aView(aMachine({ id: "m4", region: "eu" }), { reachable: false }),
    aView(aMachine({ id: "m5", region: "eu" }), { freeMemory: 10 * MiB }),
  ];

  it("puts a global service on every eligible machine, whatever replicas says", () => {
    const spec = aSpec({ agent: aService({ mode: "global", replicas: 1, resources: { memory: "64Mi" } }) });
    const plan = planDeploy(aPlanInput(spec, machines, { regions: { off: "disabled" } }));

    expect(briefly(plan)).toEqual(["create agent#0 on m1", "create agent#1 on m2"]);
    expect(candidate(plan, "agent", "m5").reasons).toEqual(["needs 64 MiB memory, 10 MiB free"]);
  });

  it("puts at most one instance of a service publishing a host port on a machine", () => {
    const spec = aSpec({ web: aService({ replicas: 3, ports: [{ container: 80, published: 8080 }] }) });
    const error = failure(() => planDeploy(aPlanInput(spec, machines.slice(0, 2))));
    expect(error.message).toBe("cannot place web#2: m1: host port 8080/tcp is already published by web#0; m2: host port 8080/tcp is already published by web#1");
  });

  it("keeps two services of a namespace from publishing the same host port on one machine", () => {
    const spec = aSpec({
      api: aService({ ports: [{ container: 80, published: 8080 }] }),
      web: aService({ ports: [{ container: 80, published: 8080 }] }),
    });
    expect(briefly(planDeploy(aPlanInput(spec, machines.slice(0, 2))))).toEqual(["create api#0 on m1", "create web#0 on m2"]);
  });
});

describe("explanations", () => {
  it("lists every active machine for every service, with what was placed and why", () => {
    const machines = [
      aView(aMachine({ id: "m1", zone: "z1" }), { freeMemory: 4 * GiB }),
      aView(aMachine({ id: "m2", zone: "z1" }), { freeMemory: 2 * GiB }),
      aView(aMachine({ id: "m3", region: "eu" })),
      aView(aMachine({ id: "gone", state: "removed" })),
    ];
    const plan = planDeploy(aPlanInput(aSpec({ web: aService({ replicas: 2 }) }), machines, { regions: { eu: "draining" } }));

    expect(plan.explanations).toEqual([
      {
        service: "web",
        revision: plan.operations[0]!.revision,
        change: "new",
        candidates: [
          { machine: "m1", region: "local", zone: "z1", eligible: true, placed: 1, reasons: ["web#0: most free memory (4 GiB)", "web#1 not placed here: already runs 1 instance of web, another machine 0"] },
          { machine: "m2", region: "local", zone: "z1", eligible: true, placed: 1, reasons: ["web#1: fewest instances of web on the machine (0)"] },
          { machine: "m3", region: "eu", eligible: false, placed: 0, reasons: ["region eu is draining, no new instances"] },
        ],
      },
    ]);
  });
});

describe("chooseMachine", () => {
  const view = (id: string, zone: string, freeMemory: number) => aView(aMachine({ id, zone }), { freeMemory }) as ReachableView;
  const web = aSpec({ web: aService() }).services.web!;

  it("narrows by zone, then machine, then memory, then id — naming only the criteria that decided", () => {
    const views = [view("a", "z1", GiB), view("b", "z1", 2 * GiB), view("c", "z2", GiB), view("d", "z2", GiB)];
    const ctx = contextFor(views);
    recordCreate(ctx.ledger, "web", 0, "a", web);

    const choice = chooseMachine(views, "web", web, ctx);
    expect(choice.machine).toBe("c");
    expect(choice.reasons).toEqual(["zone z2 had fewest instances of web (0)", "lowest machine id among equals"]);
    expect(Object.fromEntries(choice.notChosen)).toEqual({
      a: "zone z1 had 1 instance of web, another zone 0",
      b: "zone z1 had 1 instance of web, another zone 0",
      d: "an equal machine with a lower id was chosen",
    });
  });

  it("says when there was no choice", () => {
    const views = [view("a", "z1", GiB)];
    expect(chooseMachine(views, "web", web, contextFor(views)).reasons).toEqual(["only eligible machine"]);
  });
});

describe("rejectionReasons", () => {
  it("gives every reason at once, except for a disabled region where nothing else matters", () => {
    const machine = aMachine({ id: "m1", region: "eu", zone: "z1" });
    const spec = aSpec({ web: aService({ mode: "global", placement: { zones: ["z2"] }, ports: [{ container: 80, published: 80 }] }) }).services.web!;
    const down = aView(machine, { reachable: false, error: "timeout" });
    const ctx = contextFor([down], { eu: "draining" });
    recordKeep(ctx.ledger, anInstance({ service: "web", slot: 0, machine: "m1", published: 80 }));

    expect(rejectionReasons(down, "web", spec, ctx)).toEqual([
      "region eu is draining, no new instances",
      "unreachable: timeout",
      "zone z1 is not in placement.zones [z2]",
      "already runs web#0 (global: one per machine)",
      "host port 80/tcp is already published by web#0",
    ]);
    expect(rejectionReasons(down, "web", spec, { ...ctx, regions: { eu: "disabled" } })).toEqual(["region eu is disabled"]);
  });
});

describe("formatMemory", () => {
  it("uses binary units", () => {
    expect([0, 512, 100 * MiB, 512 * MiB, 1.5 * GiB, 32 * GiB, -100 * MiB].map(formatMemory)).toEqual([
      "0 B",
      "512 B",
      "100 MiB",
      "512 MiB",
      "1.5 GiB",
      "32 GiB",
      "-100 MiB",
    ]);
  });
});
