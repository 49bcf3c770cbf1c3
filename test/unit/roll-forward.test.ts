import { describe, expect, it } from "vitest";
import type { NamespaceRecord } from "../../model/commit.ts";
import { fenceVerdict } from "../../model/fencing.ts";
import type { NamespaceInstances } from "../../model/instance.ts";
import { decideRepair } from "../../model/reconcile.ts";
import { describeRollForward, instancesOfHead, isSettled, planRollForward, type ContainerObservation, type DerivedRecords } from "../../model/roll-forward.ts";
import type { RoutingRecord } from "../../model/routing.ts";
import { aContainer, aHead, aService, aSpec } from "../fixtures/deploy.ts";
import { aRoute, AT } from "../fixtures/routing.ts";

const spec = aSpec({
  web: aService({ ports: [{ container: 80, published: 8080 }], routes: [aRoute("shop.example.com", { port: 80 })], replicas: 2 }),
  worker: aService({ image: "registry.example/worker:1" }),
});
const head = aHead(spec, 7, [
  { service: "web", slot: 0, machine: "m1" },
  { service: "web", slot: 1, machine: "m2" },
  { service: "worker", slot: 0, machine: "m1" },
]);
const running: ContainerObservation[] = [
  { machine: "m1", reachable: true, containers: [aContainer({ containerId: "c-web-0", address: "10.0.0.10" }), aContainer({ containerId: "c-worker-0", service: "worker", address: "10.0.0.50" })] },
  { machine: "m2", reachable: true, containers: [aContainer({ containerId: "c-web-1", slot: 1, address: "10.0.0.11" })] },
];
const nothing: DerivedRecords = { instances: null, routing: [], invalidRouting: [], namespace: null };

const plan = (derived: Partial<DerivedRecords> = {}, observed = running, inFlightDeploy?: string, h = head) =>
  planRollForward({ head: h, derived: { ...nothing, ...derived }, observed, inFlightDeploy, at: AT });

/** The derived records as the store holds them once `p` was written. */
function written(p: ReturnType<typeof plan>, before: Partial<DerivedRecords> = {}): DerivedRecords {
  const routing = new Map((before.routing ?? []).map((r) => [r.service, r]));
  for (const r of p.routing) routing.set(r.service, r);
  return { instances: p.instances ?? before.instances ?? null, routing: [...routing.values()], invalidRouting: [], namespace: p.namespaceRecord ?? before.namespace ?? null };
}

describe("planRollForward", () => {
  it("derives everything from a head nothing was derived from yet: instances, one routing record per service, the namespace record", () => {
    const p = plan();
    expect(p.supersededBy).toBeNull();
    expect(p.instances).toMatchObject({ type: "instances", namespace: "shop", commitSeq: 7 });
    expect(p.instances!.instances.map((i) => [i.service, i.slot, i.machine, i.containerId, i.commitSeq])).toEqual([
      ["web", 0, "m1", "c-web-0", 7],
      ["web", 1, "m2", "c-web-1", 7],
      ["worker", 0, "m1", "c-worker-0", 7],
    ]);
    // the published port is the machine's business; the instance record keeps it, routing does not
    expect(p.instances!.instances[0]!.ports).toEqual([{ container: 80, protocol: "tcp", published: 8080 }]);
    expect(p.routing).toEqual([
      {
        type: "routing",
        namespace: "shop",
        service: "web",
        commitSeq: 7,
        revision: "rev-web",
        deleted: false,
        routes: [aRoute("shop.example.com", { port: 80 })],
        ports: [{ container: 80, protocol: "tcp" }],
        backends: [
          { slot: 0, machine: "m1", address: "10.0.0.10" },
          { slot: 1, machine: "m2", address: "10.0.0.11" },
        ],
        at: AT,
      },
      { type: "routing", namespace: "shop", service: "worker", commitSeq: 7, revision: "rev-worker", deleted: false, routes: [], ports: [], backends: [{ slot: 0, machine: "m1", address: "10.0.0.50" }], at: AT },
    ]);
    expect(p.namespaceRecord).toEqual({ name: "shop", authority: "m1", headSeq: 7, headDeployId: "deploy-7", state: "active", updatedAt: AT });
    expect(p.leftovers).toEqual([]);
    expect(p.dead).toEqual([]);
  });

  it("is idempotent: once written, rolling the same head forward again writes nothing", () => {
    const first = plan();
    const again = plan(written(first));
    expect(again.instances).toBeNull();
    expect(again.routing).toEqual([]);
    expect(again.namespaceRecord).toBeNull();
    expect(isSettled(again)).toBe(true);
    expect(describeRollForward(again)).toEqual([]);
  });

  it("republishes every service's routing for a new head, even unchanged ones, so a stale writer can never slip its record in after it", () => {
    const before = written(plan());
    const next = aHead(spec, 9, head.placement);
    const p = plan(before, running, undefined, next);
    expect(p.routing.map((r) => [r.service, r.commitSeq])).toEqual([
      ["web", 9],
      ["worker", 9],
    ]);
  });

  it("routes only instances that run and have an address, in slot order", () => {
    const observed: ContainerObservation[] = [
      { machine: "m1", reachable: true, containers: [aContainer({ containerId: "c-web-0", state: "exited", exitCode: 137 }), aContainer({ containerId: "c-worker-0", service: "worker", address: "" })] },
      running[1]!,
    ];
    const p = plan({}, observed);
    expect(p.routing.find((r) => r.service === "web")!.backends).toEqual([{ slot: 1, machine: "m2", address: "10.0.0.11" }]);
    expect(p.routing.find((r) => r.service === "worker")!.backends).toEqual([]);
    // running without an address yet is not dead
    expect(p.dead.map((d) => `${d.service}#${d.slot} ${d.seen}`)).toEqual(["web#0 exited (137)"]);
  });

  it("a backend that moved to another address (a container that came back from a dockerd restart) is routed at its new address", () => {
    const before = written(plan());
    const moved: ContainerObservation[] = [
      { machine: "m1", reachable: true, containers: [aContainer({ containerId: "c-web-0", address: "10.0.0.11" }), aContainer({ containerId: "c-worker-0", service: "worker", address: "10.0.0.50" })] },
      { machine: "m2", reachable: true, containers: [aContainer({ containerId: "c-web-1", slot: 1, address: "10.0.0.10" })] },
    ];
    const p = plan(before, moved);
    expect(p.routing.map((r) => r.service)).toEqual(["web"]);
    expect(p.routing[0]!.backends.map((b) => `${b.slot}@${b.address}`)).toEqual(["0@10.0.0.11", "1@10.0.0.10"]);
  });

  it("keeps the last known backend of an instance on a machine that did not answer: its state is unknown, not dead", () => {
    const before = written(plan());
    const m2Silent: ContainerObservation[] = [running[0]!, { machine: "m2", reachable: false, error: "no responder" }];
    const p = plan(before, m2Silent);
    expect(p.routing).toEqual([]);
    expect(p.dead).toEqual([]);
  });

  it("deletes the routing of a service the head no longer has, and not twice", () => {
    const before = written(plan());
    const webOnly = aHead(aSpec({ web: spec.services.web! }), 9, head.placement.filter((p) => p.service === "web"));
    const p = plan(before, running, undefined, webOnly);
    expect(p.routing.map((r) => [r.service, r.deleted, r.commitSeq])).toEqual([
      ["web", false, 9],
      ["worker", true, 9],
    ]);
    expect(p.leftovers.map((l) => l.containerId)).toEqual(["c-worker-0"]);
    const again = plan(written(p, before), running, undefined, webOnly);
    expect(again.routing).toEqual([]);
  });

  it("brings a deleted service back with a live record", () => {
    const deleted: RoutingRecord = { ...plan().routing[1]!, deleted: true, backends: [], commitSeq: 5 };
    const p = plan({ routing: [deleted] });
    expect(p.routing.find((r) => r.service === "worker")).toMatchObject({ deleted: false, commitSeq: 7 });
  });

  it("rewrites a routing record that does not parse: the head's record, or a deletion when the head has no such service", () => {
    const p = plan({ invalidRouting: ["web", "ghost"] });
    expect(p.routing.map((r) => [r.service, r.deleted])).toEqual([
      ["web", false],
      ["worker", false],
      ["ghost", true],
    ]);
  });

  it("writes nothing when any derived record comes from a newer head: the head it read is stale", () => {
    const newer = written(plan({}, running, undefined, aHead(spec, 9, head.placement)));
    for (const derived of [
      { instances: newer.instances },
      { namespace: newer.namespace },
      { routing: newer.routing.slice(0, 1) },
    ] as Array<Partial<DerivedRecords>>) {
      const p = plan(derived);
      expect(p.supersededBy).toBe(9);
      expect(p.instances).toBeNull();
      expect(p.routing).toEqual([]);
      expect(p.namespaceRecord).toBeNull();
      expect(p.leftovers).toEqual([]);
    }
  });

  it("names containers the head does not name as leftovers — old instances as routed — but leaves the candidates of the deploy in flight alone", () => {
    const before = written(plan());
    const next = aHead(spec, 9, [
      { service: "web", slot: 0, machine: "m1", containerId: "n-web-0" },
      { service: "web", slot: 1, machine: "m2", containerId: "n-web-1" },
      { service: "worker", slot: 0, machine: "m1" },
    ]);
    const observed: ContainerObservation[] = [
      {
        machine: "m1",
        reachable: true,
        containers: [
          aContainer({ containerId: "c-web-0", address: "10.0.0.10" }),
          aContainer({ containerId: "n-web-0", address: "10.0.0.20", deployId: "deploy-9" }),
          aContainer({ containerId: "c-worker-0", service: "worker", address: "10.0.0.50" }),
          aContainer({ containerId: "x-web-0", address: "10.0.0.30", deployId: "failed-deploy" }),
          aContainer({ containerId: "y-web-0", address: "10.0.0.31", deployId: "deploy-in-flight" }),
        ],
      },
      { machine: "m2", reachable: true, containers: [aContainer({ containerId: "c-web-1", slot: 1, address: "10.0.0.11" }), aContainer({ containerId: "n-web-1", slot: 1, address: "10.0.0.21" })] },
    ];
    const p = plan(before, observed, "deploy-in-flight", next);
    expect(p.leftovers.map((l) => [l.machine, l.containerId, l.routed])).toEqual([
      ["m1", "c-web-0", true],
      ["m1", "x-web-0", false],
      ["m2", "c-web-1", true],
    ]);
  });

  it("decides by restart policy whether a dead instance is to be replaced; restarting or paused ones are Docker's", () => {
    const policies = aSpec({
      always: aService({ restart: "always" }),
      unless: aService({ restart: "unless-stopped" }),
      failure: aService({ restart: "on-failure" }),
      clean: aService({ restart: "on-failure" }),
      never: aService({ restart: "no" }),
      gone: aService(),
      restarting: aService(),
    });
    const services = Object.keys(policies.services);
    const h = aHead(policies, 3, services.map((service) => ({ service, slot: 0, machine: "m1" })));
    const state: Record<string, Parameters<typeof aContainer>[0]> = {
      always: { containerId: "c-always-0", state: "exited", exitCode: 137 },
      unless: { containerId: "c-unless-0", state: "exited", exitCode: 137 },
      failure: { containerId: "c-failure-0", state: "exited", exitCode: 1 },
      clean: { containerId: "c-clean-0", state: "exited", exitCode: 0 },
      never: { containerId: "c-never-0", state: "exited", exitCode: 1 },
      restarting: { containerId: "c-restarting-0", state: "restarting" },
    };
    const observed: ContainerObservation[] = [{ machine: "m1", reachable: true, containers: Object.entries(state).map(([service, o]) => aContainer({ ...o, service })) }];
    const p = planRollForward({ head: h, derived: nothing, observed, at: AT });
    expect(Object.fromEntries(p.dead.map((d) => [d.service, [d.seen, d.replace, d.transient]]))).toEqual({
      always: ["exited (137)", true, false],
      unless: ["exited (137)", true, false],
      failure: ["exited (1)", true, false],
      clean: ["exited (0)", false, false],
      never: ["exited (1)", false, false],
      gone: ["is missing", true, false],
      restarting: ["is restarting", false, true],
    });
  });

  it("a removal derives an empty namespace: no instances (the document stays, as a tombstone), every route deleted, the record marked removed, everything a leftover", () => {
    const before = written(plan());
    const removal = { type: "removal" as const, seq: 11, namespace: "shop", deployId: "rm-1", authority: "m1", parentSeq: 7, fenceSeq: 10, createdAt: AT };
    const p = planRollForward({ head: removal, derived: before, observed: running, at: AT });
    expect(p.instances).toEqual({ type: "instances", namespace: "shop", commitSeq: 11, instances: [] } satisfies NamespaceInstances);
    expect(p.routing.map((r) => [r.service, r.deleted])).toEqual([
      ["web", true],
      ["worker", true],
    ]);
    expect(p.namespaceRecord).toMatchObject({ headSeq: 11, state: "removed" } satisfies Partial<NamespaceRecord>);
    expect(p.leftovers).toHaveLength(3);
    expect(instancesOfHead(removal)).toEqual([]);
  });
});

describe("fenceVerdict", () => {
  const fence = (seq: number) => ({ type: "fence" as const, seq, deployId: `d-${seq}` });
  const commit = (seq: number, fenceSeq: number) => ({ type: "commit" as const, seq, deployId: `d-${fenceSeq}`, fenceSeq });
  it("a token rules while its fence is last, or the commit made under it is", () => {
    expect(fenceVerdict("shop", fence(5), 5)).toEqual({ ok: true });
    expect(fenceVerdict("shop", commit(6, 5), 5)).toEqual({ ok: true });
  });
  it("a later fence, or a commit made under another fence, makes it stale", () => {
    expect(fenceVerdict("shop", fence(8), 5)).toEqual({ ok: false, reason: "fence 5 of namespace shop is stale: fence 8 of d-8 came after it" });
    expect(fenceVerdict("shop", commit(9, 8), 5)).toEqual({ ok: false, reason: "fence 5 of namespace shop is stale: commit 9 of deploy d-8 came after it" });
  });
  it("an empty subject or an unknown token fences nothing", () => {
    expect(fenceVerdict("shop", null, 5).ok).toBe(false);
    expect(fenceVerdict("shop", commit(4, 3), 5)).toMatchObject({ ok: false, reason: expect.stringContaining("is not in the store") });
  });
});

describe("decideRepair", () => {
  const settled = { dead: [], leftovers: [] };
  it("nothing to repair when nothing is dead or left over", () => {
    expect(decideRepair(head, settled, undefined)).toBeNull();
  });
  it("defers to a deploy that holds the lease: it settles the namespace itself", () => {
    expect(decideRepair(head, { dead: [], leftovers: [{ machine: "m1", containerId: "x", name: "x", deployId: "d", routed: false }] }, "d-in-flight")).toBeNull();
  });
  it("repairs with the head's own spec and images, naming why", () => {
    const dead = [{ service: "web", slot: 0, machine: "m1", containerId: "c", seen: "exited (137)", transient: false, replace: true }];
    const repair = decideRepair(head, { dead, leftovers: [] }, undefined);
    expect(repair).toEqual({
      operation: { kind: "deploy", spec: head.spec, images: head.images, reason: "reconcile: web#0 on m1 exited (137)" },
      reason: "reconcile: web#0 on m1 exited (137)",
    });
  });
  it("does not repair a dead instance whose restart policy says no", () => {
    const dead = [{ service: "web", slot: 0, machine: "m1", containerId: "c", seen: "exited (0)", transient: false, replace: false }];
    expect(decideRepair(head, { dead, leftovers: [] }, undefined)).toBeNull();
  });
  it("removes what a never-committed namespace left with a removal (which commits nothing)", () => {
    const leftovers = [{ machine: "m1", containerId: "x", name: "ployz-shop-web-0-x", deployId: "d", routed: false }];
    expect(decideRepair(null, { dead: [], leftovers }, undefined)).toEqual({
      operation: { kind: "remove", reason: "reconcile: 1 container the head does not name (ployz-shop-web-0-x)" },
      reason: "reconcile: 1 container the head does not name (ployz-shop-web-0-x)",
    });
  });
});
