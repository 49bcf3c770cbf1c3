import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { logTimeOfMs } from "../../model/log-lines.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { acquireLease, releaseLease } from "../../actors/deploy/lease.ts";
import { requestJson } from "../../actors/nats/request.ts";
import { LABELS } from "../../model/instance.ts";
import { containerInspectSchema } from "../../model/observation.ts";
import { lockReplySchema, logsReplySchema, probeReplySchema, removedReplySchema } from "../../model/participant.ts";
import { subjects, type MachineVerb } from "../../model/subjects.ts";
import { openStore } from "../../runtime/store.ts";
import { aNamespaceSpec, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE, execIn, removeTestContainers } from "../harness/docker.ts";
import { rejectionOf } from "../fixtures/errors.ts";

/**
 * The participant acts only on what this cluster manages: inspect, logs, readiness and removal
 * refuse any other container with the answer a missing one gets, and an exec probe runs only in
 * the asking deploy's own candidates while it holds this machine's lock. Every refused exec
 * probe would have created /tmp/pwned in its container; each test checks that it did not.
 */

const run = randomBytes(4).toString("hex");
/** Not this machine: the fences these tests append must not make the namespaces this machine's to reconcile. */
const HOLDER = "access-test";
let cluster: TestCluster;
let nc: NatsConnection;
let store: Awaited<ReturnType<typeof openStore>>;

beforeAll(async () => {
  cluster = await startTestCluster();
  nc = await connectAsMachine(cluster.home);
  store = await openStore(nc);
}, 120_000);
afterAll(async () => {
  await nc?.close();
  await removeTestContainers(cluster.docker, run);
  await cluster?.dispose();
});

const ask = <T>(verb: MachineVerb, body: unknown, schema: z.ZodType<T>, timeoutMs = 10_000) =>
  requestJson(nc, subjects.machine(cluster.machineId, verb), body, schema, { who: `machine ${cluster.machineId}`, timeoutMs });

/** A running busybox container with these labels (and the test's own, for clean-up). */
async function aContainer(labels: Record<string, string>, command = ["/bin/sh", "-c", "echo hello-from-the-container; exec sleep 300"]): Promise<string> {
  const container = await cluster.docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: command, Labels: { ...labels, "ployz.test": run }, HostConfig: { Init: true } });
  await container.start();
  return container.id;
}

const clusterLabels = () => ({ [LABELS.managed]: "true", [LABELS.cluster]: store.clusterId });
/** The labels `startContainer` writes for a candidate of `deployId` in `namespace` (those the participant goes by). */
const candidateLabels = (namespace: string, deployId: string) => ({ ...clusterLabels(), [LABELS.namespace]: namespace, [LABELS.deploy]: deployId, [LABELS.service]: "web", [LABELS.slot]: "0" });

/** A namespace and deploy id of this run; the deploy holds the namespace's lease, and this machine's lock unless `lock: false`. */
async function aDeployHolding(prefix: string, options: { lock?: boolean } = {}) {
  const namespace = `${prefix}-${run}`;
  const deployId = `d-${prefix}-${run}`;
  const value = { holder: HOLDER, deployId, since: new Date().toISOString() };
  const lease = await acquireLease(store.kv.leases, store.js, store.jsm, namespace, value);
  const lock = () => ask("lock.acquire", { namespace, deployId, holder: HOLDER }, lockReplySchema);
  const unlock = () => ask("lock.release", { namespace, deployId, holder: HOLDER }, z.object({ type: z.literal("released"), released: z.boolean() }));
  if (options.lock !== false) await lock();
  return {
    namespace,
    deployId,
    lock,
    unlock,
    async release() {
      await unlock();
      await releaseLease(store.kv.leases, namespace, value, lease.revision);
    },
  };
}

const execProbe = (command: string[]) => ({ type: "exec", command, interval: 100, timeout: 2_000, retries: 1 });
const PWN = ["touch", "/tmp/pwned"];
const probe = (deploy: { namespace: string; deployId: string }, containerId: string, readiness: unknown) =>
  ask("probe.readiness", { namespace: deploy.namespace, deployId: deploy.deployId, containerId, ...(readiness ? { probe: readiness } : {}) }, probeReplySchema);
const wasPwned = async (containerId: string) => (await execIn(cluster.docker, containerId, ["test", "-e", "/tmp/pwned"])).code === 0;
const notManaged = (ref: string) => ({ code: "container-not-managed", message: `machine ${cluster.machineId}: container ${ref} is not managed by this cluster` });
/** A container id nobody has. */
const missingId = () => randomBytes(32).toString("hex");

describe("exec readiness probes run only in the asking deploy's own candidates, under its lock", () => {
  it("refuses a container Ployz does not manage, and the command never runs", async () => {
    const deploy = await aDeployHolding("unmanaged");
    try {
      const plain = await aContainer({});
      expect(await rejectionOf(probe(deploy, plain, execProbe(PWN)))).toMatchObject(notManaged(plain.slice(0, 12)));
      expect(await wasPwned(plain)).toBe(false);
    } finally {
      await deploy.release();
    }
  });

  it("refuses another cluster's container with the answer a missing container gets, and the command never runs", async () => {
    const deploy = await aDeployHolding("foreign");
    try {
      // labelled exactly like a candidate of this deploy, but by a cluster sharing this dockerd
      const foreign = await aContainer({ ...candidateLabels(deploy.namespace, deploy.deployId), [LABELS.cluster]: "0123456789abcdef" });
      const missing = missingId();
      expect(await rejectionOf(probe(deploy, foreign, execProbe(PWN)))).toMatchObject(notManaged(foreign.slice(0, 12)));
      expect(await rejectionOf(probe(deploy, missing, execProbe(PWN)))).toMatchObject(notManaged(missing.slice(0, 12)));
      expect(await wasPwned(foreign)).toBe(false);
    } finally {
      await deploy.release();
    }
  });

  it("refuses a container of this cluster that another deploy or another namespace started, and the command never runs", async () => {
    const deploy = await aDeployHolding("otherdeploy");
    try {
      const ofAnotherDeploy = await aContainer(candidateLabels(deploy.namespace, `d-older-${run}`));
      const ofAnotherNamespace = await aContainer(candidateLabels(`elsewhere-${run}`, deploy.deployId));
      for (const container of [ofAnotherDeploy, ofAnotherNamespace]) {
        const error = await rejectionOf(probe(deploy, container, execProbe(PWN)));
        expect(error).toMatchObject({ code: "invalid-argument" });
        expect(error.message).toContain(`container ${container.slice(0, 12)} is not a candidate of deploy ${deploy.deployId} in namespace ${deploy.namespace}`);
        expect(await wasPwned(container)).toBe(false);
      }
    } finally {
      await deploy.release();
    }
  });

  it("refuses the deploy's own candidate while the deploy does not hold this machine's lock, and runs it once it does", async () => {
    const deploy = await aDeployHolding("nolock", { lock: false });
    try {
      const own = await aContainer(candidateLabels(deploy.namespace, deploy.deployId));
      const refused = await rejectionOf(probe(deploy, own, execProbe(PWN)));
      expect(refused).toMatchObject({ code: "lock-not-held" });
      expect(refused.message).toContain(`deploy ${deploy.deployId} does not hold the lock for namespace ${deploy.namespace} on machine ${cluster.machineId}`);
      expect(await wasPwned(own)).toBe(false);

      // the same request, once the deploy holds the lock: this is the only thing that was missing
      await deploy.lock();
      await expect(probe(deploy, own, execProbe(["touch", "/tmp/probed"]))).resolves.toMatchObject({ type: "ready", containerId: own });
      expect((await execIn(cluster.docker, own, ["test", "-e", "/tmp/probed"])).code).toBe(0);

      // and not after it released it
      await deploy.unlock();
      expect(await rejectionOf(probe(deploy, own, execProbe(PWN)))).toMatchObject({ code: "lock-not-held" });
      expect(await wasPwned(own)).toBe(false);
    } finally {
      await deploy.release();
    }
  });
});

describe("HTTP, TCP and default readiness need a container this cluster manages, not the lock", () => {
  const httpd = ["/bin/sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"];
  const httpProbe = { type: "http", port: 8080, path: "/", interval: 100, timeout: 1_000, retries: 20 };

  it("refuses to probe a container Ployz does not manage, by any probe", async () => {
    const plain = await aContainer({}, httpd);
    const deploy = { namespace: `plain-${run}`, deployId: `d-plain-${run}` };
    for (const readiness of [httpProbe, { ...httpProbe, type: "tcp", path: undefined }, undefined]) {
      expect(await rejectionOf(probe(deploy, plain, readiness))).toMatchObject(notManaged(plain.slice(0, 12)));
    }
  });

  it("probes a managed container without the lock", async () => {
    const deploy = { namespace: `nolockhttp-${run}`, deployId: `d-nolockhttp-${run}` };
    const own = await aContainer(candidateLabels(deploy.namespace, deploy.deployId), httpd);
    await expect(probe(deploy, own, httpProbe)).resolves.toMatchObject({ type: "ready", containerId: own });
  });
});

describe("inspect, logs and remove answer for this cluster's containers only", () => {
  it("inspect and logs refuse a container Ployz does not manage, or another cluster's, with the answer a missing one gets", async () => {
    const plain = await aContainer({});
    const foreign = await aContainer({ ...clusterLabels(), [LABELS.cluster]: "0123456789abcdef", [LABELS.namespace]: "shop" });
    const name = async (id: string) => (await cluster.docker.getContainer(id).inspect()).Name.replace(/^\//, "");
    const missing = missingId();
    // by full id, by name, and by an id prefix (Docker would resolve it; the participant does not)
    const refs = [plain, foreign, missing, await name(plain), await name(foreign), `no-such-container-${run}`, plain.slice(0, 12)];
    for (const ref of refs) {
      const shown = /^[0-9a-f]{64}$/.test(ref) ? ref.slice(0, 12) : ref;
      expect(await rejectionOf(ask("container.inspect", { id: ref }, containerInspectSchema)), `inspect ${ref}`).toMatchObject(notManaged(shown));
      const logs = await ask("container.logs", { containers: [{ containerId: ref }], until: logTimeOfMs(Date.now()) }, logsReplySchema);
      expect(logs.containers, `logs ${ref}`).toEqual([{ containerId: ref, lines: [], truncated: false, error: `container ${shown} is not managed by this cluster` }]);
    }
  });

  it("inspect and logs answer for a container this cluster manages", async () => {
    const own = await aContainer(candidateLabels(`inspected-${run}`, `d-inspected-${run}`));
    const inspect = await ask("container.inspect", { id: own }, containerInspectSchema);
    expect(inspect.container).toMatchObject({ id: own, state: "running", labels: { [LABELS.cluster]: store.clusterId } });
    expect(Object.values(inspect.container.ipAddresses)[0]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const logs = await ask("container.logs", { containers: [{ containerId: own }], until: logTimeOfMs(Date.now() + 1_000) }, logsReplySchema);
    expect(logs.containers[0]!.lines.map((l) => l.text)).toContain("hello-from-the-container");
  });

  it("remove leaves a container that is not this cluster's alone, answering as for a missing one", async () => {
    const deploy = { namespace: `removal-${run}`, deployId: `d-removal-${run}`, fenceSeq: 1 };
    const plain = await aContainer({});
    const foreign = await aContainer({ ...candidateLabels(deploy.namespace, deploy.deployId), [LABELS.cluster]: "0123456789abcdef" });
    const missing = missingId();
    for (const containerId of [plain, foreign, missing]) {
      await expect(ask("container.remove", { ...deploy, containerId }, removedReplySchema)).resolves.toEqual({ type: "removed", machine: cluster.machineId, containerId, existed: false });
    }
    // one of this cluster's, but of another namespace: refused, as before
    const ofAnotherNamespace = await aContainer(candidateLabels(`elsewhere-${run}`, deploy.deployId));
    const error = await rejectionOf(ask("container.remove", { ...deploy, containerId: ofAnotherNamespace }, removedReplySchema));
    expect(error).toMatchObject({ code: "invalid-argument", message: expect.stringContaining(`container ${ofAnotherNamespace.slice(0, 12)} is not a container of namespace ${deploy.namespace}`) });
    for (const id of [plain, foreign, ofAnotherNamespace]) expect((await cluster.docker.getContainer(id).inspect()).State.Running).toBe(true);
  });
});

describe("a deploy with an exec readiness probe", () => {
  it("is ready by its probe even when probing outlasts the lock's max age (the lock is kept while it probes), and its logs come through the API", async () => {
    const ns = cluster.namespace("execready");
    // ready only after 17 s: longer than the 15 s a participant lock lives without a refresh
    const worker = {
      image: BUSYBOX_IMAGE,
      command: ["/bin/sh", "-c", "sleep 17; touch /tmp/ready; echo ready-now; exec sleep 300"],
      readiness: { type: "exec" as const, command: ["test", "-f", "/tmp/ready"], interval: "500ms", timeout: "2s", retries: 60 },
    };
    const started = Date.now();
    const result = await cluster.client.deploy({ spec: aNamespaceSpec(ns, { worker }) });
    expect(result.type).toBe("deployed");
    expect(Date.now() - started).toBeGreaterThan(17_000);
    const [instance] = (await cluster.client.ps(ns)).instances;
    expect((await execIn(cluster.docker, instance!.containerId, ["test", "-f", "/tmp/ready"])).code).toBe(0);
    const logs = await cluster.client.logs({ namespace: ns, service: "worker", tail: 10 });
    expect(logs.lines).toEqual([expect.objectContaining({ slot: 0, machine: cluster.machineId, text: "ready-now" })]);
    expect(Object.keys(logs.cursors)).toEqual([instance!.containerId]);
  }, 120_000);
});
