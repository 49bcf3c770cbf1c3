import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { requestJson } from "../../actors/nats/request.ts";
import { NoResponderError, RemoteError, RequestTimeoutError } from "../../model/errors.ts";
import { capacitySchema, containerInspectSchema, containerListSchema } from "../../model/observation.ts";
import { subjects } from "../../model/subjects.ts";
import { inboxPrefix } from "../../model/roles.ts";
import type { ClusterStatus } from "../../model/api.ts";
import { createDocker } from "../../runtime/docker.ts";
import { connectAsMachine, createTestHome, eventually, startDevDaemon, type TestHome } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage, removeTestContainers } from "../harness/docker.ts";

const run = randomBytes(4).toString("hex");
const docker = createDocker();
let home: TestHome;
let nc: NatsConnection;
let machineId: string;

beforeAll(async () => {
  ensureBusyboxImage();
  home = createTestHome();
  machineId = (await startDevDaemon(home)).info.machineId;
  nc = await connectAsMachine(home);
});
afterAll(async () => {
  await nc?.close();
  await removeTestContainers(docker, run);
  await home?.dispose();
});

const who = () => `machine ${machineId}`;

describe("participant (real NATS, real Docker)", () => {
  it("reports live capacity with the container count from dockerd", async () => {
    const container = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ["sleep", "300"], Labels: { "ployz.test": run }, HostConfig: { Init: true } });
    await container.start();
    // Other test files create containers on the same dockerd: compare with dockerd's own count
    // taken just before and just after, and only when nothing changed in between.
    const sample = await eventually(async () => {
      const before = await docker.listContainers({ all: true });
      const capacity = await requestJson(nc, subjects.machine(machineId, "observe.capacity"), {}, capacitySchema, { who: who() });
      const after = await docker.listContainers({ all: true });
      const ids = (list: typeof before) => list.map((c) => c.Id).sort().join();
      return ids(before) === ids(after) ? { capacity, list: after } : undefined;
    }, "a quiet moment on dockerd");
    expect(sample.capacity.machine).toBe(machineId);
    expect(sample.capacity.containers).toEqual({
      ok: true,
      total: sample.list.length,
      running: sample.list.filter((c) => c.State === "running").length,
    });
    expect(sample.list.some((c) => c.Id === container.id)).toBe(true);
  });

  it("lists containers through dockerode", async () => {
    const container = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "300"],
      Labels: { "ployz.test": run, "ployz.namespace": "demo" },
      HostConfig: { Init: true },
    });
    await container.start();
    const list = await requestJson(nc, subjects.machine(machineId, "observe.containers"), {}, containerListSchema, { who: who() });
    const mine = list.containers.find((c) => c.id === container.id);
    expect(mine).toMatchObject({ image: BUSYBOX_IMAGE, state: "running", labels: { "ployz.namespace": "demo" } });
    // inspect answers for managed containers only: test/integration/participant-access.test.ts
  });

  it("answers an unknown container with an error that names it", async () => {
    const request = requestJson(nc, subjects.machine(machineId, "container.inspect"), { id: "no-such-container" }, containerInspectSchema, { who: who() });
    await expect(request).rejects.toThrow(RemoteError);
    await expect(request).rejects.toMatchObject({ code: "container-not-managed", message: expect.stringContaining("container no-such-container is not managed by this cluster") });
  });

  it("refuses malformed requests and unknown verbs", async () => {
    const bad = requestJson(nc, subjects.machine(machineId, "container.inspect"), { id: 42 }, containerInspectSchema, { who: who() });
    await expect(bad).rejects.toMatchObject({ code: "invalid-argument" });
    // an unknown verb does not even reach the participant: no role may publish it
    await expect(requestJson(nc, `ployz.m.${machineId}.no.such.verb`, {}, z.unknown(), { who: who() })).rejects.toMatchObject({
      code: "permission-denied",
      message: `NATS refused this identity a request on ployz.m.${machineId}.no.such.verb`,
    });
    const garbage = await nc.request(subjects.machine(machineId, "observe.capacity"), "{not json", { timeout: 5_000 });
    expect(garbage.json()).toMatchObject({ type: "error", error: { code: "invalid-argument" } });
  });

  it("fails at once with a no-responder error for a machine that is gone, not after the timeout", async () => {
    // A 60 s timeout: if this waited for it, the test would time out instead of passing.
    const request = requestJson(nc, subjects.machine("gone-machine", "observe.capacity"), {}, capacitySchema, { who: "machine gone-machine", timeoutMs: 60_000 });
    await expect(request).rejects.toThrow(NoResponderError);
    await expect(request).rejects.toThrow("no responder for ployz.m.gone-machine.observe.capacity: machine gone-machine is not serving it");
  }, 10_000);

  it("fails with a timeout error when a responder stays silent", async () => {
    // A responder that never answers, on a subject this identity may use: its own inbox prefix.
    const subject = `${inboxPrefix({ role: "machine", name: machineId })}.silent`;
    const silent = nc.subscribe(subject);
    try {
      const request = requestJson(nc, subject, {}, z.unknown(), { who: "a silent responder", timeoutMs: 300 });
      await expect(request).rejects.toThrow(RequestTimeoutError);
      await expect(request).rejects.toThrow(`a silent responder did not answer ${subject} within 300 ms`);
    } finally {
      silent.unsubscribe();
    }
  });

  it("status shows a member that does not answer as an observation error, beside its intact intent", async () => {
    const { openStore } = await import("../../runtime/store.ts");
    const store = await openStore(nc);
    const record = {
      id: "gone-machine",
      name: "gone",
      region: "local",
      storage: false,
      state: "active",
      natsUser: `U${"A".repeat(55)}`,
      joinedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    await store.kv.machines.put("gone-machine", JSON.stringify(record));
    await store.kv.machines.put("broken-record", "{ not json");
    try {
      const status = await home.json<ClusterStatus>("status");
      expect(status.intent.machines.map((m) => m.id).sort()).toEqual(["gone-machine", machineId].sort());
      expect(status.intent.invalid).toEqual([{ key: "broken-record", error: "not valid JSON" }]);
      const gone = status.observation.find((o) => o.machine === "gone-machine")!;
      expect(gone.ok).toBe(false);
      if (!gone.ok) expect(gone.error.code).toBe("no-responder");
      expect(status.observation.find((o) => o.machine === machineId)?.ok).toBe(true);
    } finally {
      await store.kv.machines.delete("gone-machine");
      await store.kv.machines.delete("broken-record");
    }
  });
});
