import { describe, expect, it } from "vitest";
import { faultsFrom } from "../../actors/faults.ts";
import { commitSchema, removalSchema } from "../../model/commit.ts";
import { buildHeadRecord } from "../../model/head-record.ts";
import { planDeploy } from "../../model/plan-deploy.ts";
import { canonicalJson } from "../../model/revision.ts";
import { sanitizeInspectedEvent, withoutPayloads } from "../../runtime/stately-inspect.ts";
import { aPlanInput, aService, aSpec, aView, anImageId, anInstance, revisionOf } from "../fixtures/deploy.ts";
import { aMachine } from "../fixtures/machines.ts";

const machines = [aView(aMachine({ id: "m1" })), aView(aMachine({ id: "m2" }))];

describe("buildHeadRecord", () => {
  it("a commit: the whole spec, the exact images, kept instances with who started them, and the candidates this deploy started", () => {
    const before = aSpec({ web: aService({ replicas: 2 }), api: aService({ image: "registry.example/api:1" }) });
    const after = aSpec({ web: aService({ replicas: 2 }), api: aService({ image: "registry.example/api:2" }) });
    const current = [anInstance({ service: "web", slot: 0, machine: "m1", of: before }), anInstance({ service: "web", slot: 1, machine: "m2", of: before }), anInstance({ service: "api", slot: 0, machine: "m1", of: before })];
    const input = aPlanInput(after, machines, { baseCommitSeq: 5, current });
    const plan = planDeploy(input);
    const record = buildHeadRecord({
      namespace: "shop",
      deployId: "d-new",
      authority: "m1",
      operation: { kind: "deploy", spec: after, reason: "because" },
      plan,
      started: [{ service: "api", slot: 0, revision: revisionOf(after, "api"), machine: "m2", containerId: "c-new", containerName: "ployz-shop-api-0-d-new", startedAt: "2026-01-02T00:00:00.000Z" }],
      current,
      images: { ...input.images, "registry.example/unused:1": anImageId("x") },
      fenceSeq: 12,
      at: "2026-01-02T00:00:01.000Z",
    });
    expect(commitSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({ type: "commit", parentSeq: 5, fenceSeq: 12, reason: "because", planHash: plan.hash, spec: after });
    expect(record.type === "commit" && record.images).toEqual({ "registry.example/api:2": anImageId("registry.example/api:2"), [after.services.web!.image]: anImageId(after.services.web!.image) });
    expect(record.type === "commit" && record.placement.map((p) => [p.service, p.slot, p.machine, p.containerId, p.deployId])).toEqual([
      ["api", 0, "m2", "c-new", "d-new"],
      ["web", 0, "m1", current[0]!.containerId, "deploy-000001"],
      ["web", 1, "m2", current[1]!.containerId, "deploy-000001"],
    ]);
  });

  it("a removal for namespace rm", () => {
    const spec = aSpec({ web: aService() });
    const plan = planDeploy(aPlanInput(spec, machines));
    const record = buildHeadRecord({ namespace: "shop", deployId: "rm", authority: "m1", operation: { kind: "remove" }, plan, started: [], current: [], images: {}, fenceSeq: 3, at: "t" });
    expect(removalSchema.parse(record)).toEqual({ type: "removal", namespace: "shop", deployId: "rm", authority: "m1", parentSeq: null, fenceSeq: 3, createdAt: "t" });
  });
});

describe("canonicalJson", () => {
  it("orders keys by code unit, whatever the locale would say (revisions must not depend on it)", () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, "ä": 4, _: 5 })).toBe('{"B":2,"_":5,"a":3,"b":1,"ä":4}');
  });
});

describe("--inspect redaction", () => {
  it("forwards an event's type and scalar fields only, never an actor's input or output", () => {
    const planted = "s3cr3t-value";
    expect(sanitizeInspectedEvent({ type: "xstate.done.actor.commit", output: { spec: { env: { PASSWORD: planted } } } } as { type: string })).toEqual({ type: "xstate.done.actor.commit" });
    expect(JSON.stringify(sanitizeInspectedEvent({ type: "STARTED", token: "abc", count: 2 } as { type: string }))).not.toContain("abc");
    const snapshot = withoutPayloads({ type: "@xstate.snapshot", snapshot: { status: "active", input: { context: { operation: { spec: { env: { PASSWORD: planted } } } } }, output: planted, context: { phase: "x" } } });
    expect(JSON.stringify(snapshot)).not.toContain(planted);
    expect(snapshot.snapshot).toEqual({ status: "active", context: { phase: "x" } });
  });
});

describe("faultsFrom (PLOYZ_FAULTS)", () => {
  it("refuses a point or action it does not know, so a typo never passes for a test that ran", () => {
    expect(() => faultsFrom("deploy.after-comit:kill", () => {})).toThrow(/"deploy.after-comit:kill" is not <point>:<kill\|stop>/);
    expect(() => faultsFrom("deploy.after-commit:explode", () => {})).toThrow(/is not <point>:<kill\|stop>/);
  });
  it("does nothing at a point that is not armed, and nothing when unset", () => {
    const told: string[] = [];
    faultsFrom("deploy.after-commit:kill", (point) => told.push(point)).hit("deploy.after-start");
    faultsFrom(undefined, (point) => told.push(point)).hit("deploy.after-commit");
    expect(told).toEqual([]);
  });
});
