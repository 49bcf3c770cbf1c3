import type { MeshObservation } from "../../model/mesh-observation.ts";
import type Docker from "dockerode";
import { join } from "node:path";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import { DeployFailedError, InvalidArgumentError, NotFoundError } from "../../model/errors.ts";
import { isCandidateOf, LABELS, shortContainerRef } from "../../model/instance.ts";
import { containerRefSchema, crashRequestSchema, type ChildStatus } from "../../model/observation.ts";
import {
  imageRequestSchema,
  instancesRequestSchema,
  lockRequestSchema,
  logsRequestSchema,
  type LogsReply,
  probeRequestSchema,
  removeContainerRequestSchema,
  startContainerRequestSchema,
} from "../../model/participant.ts";
import type { RoutingConsumerStatus } from "../../model/routing-status.ts";
import { subjects } from "../../model/subjects.ts";
import { hasBinds, type HostPathRules } from "../../model/bind-policy.ts";
import { assertFence } from "../deploy/commits.ts";
import { describeContainer, listContainers } from "../docker/containers.ts";
import { watchContainerEvents } from "../docker/container-events.ts";
import { ensureImage, localImageId } from "../docker/ensure-image.ts";
import { findManagedContainer, listManagedContainers, managedContainer } from "../docker/managed-containers.ts";
import { readLogPages } from "../docker/read-log-lines.ts";
import { probeReadiness } from "../docker/probe-readiness.ts";
import { removeContainer } from "../docker/remove-container.ts";
import { startContainer } from "../docker/start-container.ts";
import { allowedBindDirs } from "../store/bind-policy.ts";
import { serviceSecretReader } from "../store/service-secrets.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { serveRequests } from "../nats/serve.ts";
import { execRequestSchema } from "../../model/exec.ts";
import { execJournal } from "../exec/exec-journal.ts";
import { ExecSessions } from "../exec/exec-sessions.ts";
import { observeCapacity } from "./capacity.ts";
import { acquireLock, assertLockHeld, releaseLock } from "./locks.ts";

export interface ParticipantDeps {
  nc: NatsConnection;
  /** Told how long each answer took (metrics). */
  onAnswered?: (verb: string, seconds: number, ok: boolean) => void;
  /** For the fence checks, at the moment of each Docker call that changes something. */
  jsm: JetStreamManager;
  /** For Status records (exec sessions). */
  js: JetStreamClient;
  docker: Docker;
  /** The cluster's id: the only containers this participant lists or touches carry it. */
  clusterId: string;
  locks: KV;
  /** Namespace leases: only a lease holder may take this machine's lock. */
  leases: KV;
  images: ObjectStore;
  /** KV `secrets`: the values of the services' secrets, read when a container starts. */
  secrets?: KV;
  /** KV `policy`: the namespace's allowed bind directories, read when a container with binds starts. */
  policy: KV;
  /** What this machine refuses to bind always, and the cluster's default directories. */
  hostPaths: HostPathRules;
  machineId: string;
  dataDir: string;
  /** Where config files for containers are written. */
  configDir: string;
  log: Logger;
  /** The node's supervised children as they are now. */
  children: () => ChildStatus[];
  /** Present only when ployzd runs with --fault-injection. */
  injectCrash?: (actor: string) => void;
  /** What this machine's routing consumers (gateway, DNS) serve now. */
  routing: () => RoutingConsumerStatus[];
  /** This machine's side of the mesh now: peers' states, handshake ages, latency measured at the moment of asking. */
  mesh?: () => Promise<MeshObservation>;
  /** The cluster DNS containers should use (set when it listens on port 53). */
  dns?: { server: string };
  /** The Docker network of this machine's workload bridge, which containers join (absent: Docker's default bridge). */
  network?: string;
}

/**
 * The participant: this machine's side of every request addressed to it on
 * `ployz.m.<machine>.*` — live observations, containers, readiness, locks, and (in tests)
 * crash injection. A start needs the asking deploy to hold this machine's lock and its fence to
 * still rule the namespace, both checked right before Docker creates the container, and its bind
 * mounts to pass the namespace's bind policy by their real paths on this machine; a removal
 * needs the fence, and a container this cluster manages in that namespace. Inspect, logs,
 * readiness and removal touch only containers this cluster manages (labels `ployz.managed` and
 * `ployz.cluster`); any other is answered as if it did not exist. An exec probe also needs the
 * asking deploy's lock and runs only in that deploy's own candidates (`ployz.namespace`,
 * `ployz.deploy`). Docker events about managed containers go out on `ployz.containers.<machine>`
 * for the reconcilers. `exec` runs an operator's command in a managed container (actors/exec/):
 * its sessions end with the participant, and those a killed ployzd left are ended at the start.
 */
export function createParticipant(deps: ParticipantDeps) {
  const machine = deps.machineId;
  const now = () => new Date().toISOString();
  const handle = async (verb: string, body: unknown, sessions: ExecSessions): Promise<unknown> => {
    switch (verb) {
      case "observe.capacity":
        return await observeCapacity(deps.docker, machine, deps.dataDir);
      case "observe.containers":
        return { type: "containers", machine, at: now(), containers: await listContainers(deps.docker) };
      case "observe.instances": {
        const request = parseRequest(instancesRequestSchema, body, verb);
        return { type: "instances", machine, at: now(), containers: await listManagedContainers(deps.docker, deps.clusterId, request.namespace) };
      }
      case "observe.image": {
        const request = parseRequest(imageRequestSchema, body, verb);
        return { type: "image", machine, image: request.image, id: await localImageId(deps.docker, request.image) };
      }
      case "observe.routes":
        return { type: "routes", machine, at: now(), consumers: deps.routing() };
      case "observe.mesh":
        if (!deps.mesh) return { type: "mesh", machine, at: now(), state: "off", peers: [], ignored: [] } satisfies MeshObservation;
        return await deps.mesh();
      case "observe.actors":
        return { type: "actors", machine, at: now(), children: deps.children() };
      case "container.inspect": {
        const ref = parseRequest(containerRefSchema, body, verb);
        return { type: "container", machine, at: now(), container: describeContainer(await managedContainer(deps.docker, deps.clusterId, ref.id)) };
      }
      case "lock.acquire": {
        const request = parseRequest(lockRequestSchema, body, verb);
        const tookOver = await acquireLock(deps.locks, deps.leases, machine, request);
        if (tookOver) deps.log.warn({ namespace: request.namespace, deploy: request.deployId, from: tookOver }, "took over the lock of a deploy that no longer holds the lease");
        return { type: "locked", machine, namespace: request.namespace, deployId: request.deployId };
      }
      case "lock.release": {
        const request = parseRequest(lockRequestSchema, body, verb);
        const released = await releaseLock(deps.locks, machine, request.namespace, request.deployId);
        return { type: "released", machine, released };
      }
      case "container.start": {
        const request = parseRequest(startContainerRequestSchema, body, verb);
        const deadline = Date.now() + request.budgetMs;
        await assertLockHeld(deps.locks, machine, request.namespace, request.deployId);
        const image = await ensureImage(deps.docker, deps.images, request.spec.image, request.imageId, machine);
        if (image === "loaded") deps.log.info({ image: request.spec.image, id: request.imageId }, "image loaded from the cluster image store");
        const what = `starting ${request.service}#${request.slot} of ${request.namespace} for deploy ${request.deployId}`;
        // Read for this start: a policy withdrawn since the deploy planned is honoured; a store that cannot be read fails the start.
        const binds = hasBinds([request.spec]) ? { allowed: await allowedBindDirs(deps.policy, request.namespace), rules: deps.hostPaths } : undefined;
        const started = await startContainer(
          deps.docker,
          { ...request, clusterId: deps.clusterId },
          request.spec,
          deps.configDir,
          deps.dns,
          async () => {
            // Checked now, not before the image load: a coordinator that stopped waiting, lost its lock or was fenced out starts nothing.
            if (Date.now() > deadline) throw new DeployFailedError(`${what} abandoned: it could not happen within the coordinator's ${request.budgetMs} ms`);
            await assertLockHeld(deps.locks, machine, request.namespace, request.deployId);
            await assertFence(deps.jsm, request.namespace, request.fenceSeq, what);
          },
          { machine, ...(deps.secrets ? { secrets: serviceSecretReader(deps.secrets) } : {}), ...(binds ? { binds } : {}), ...(deps.network ? { network: deps.network } : {}) },
        );
        deps.log.info({ namespace: request.namespace, service: request.service, slot: request.slot, deploy: request.deployId, container: started.containerName }, "container started");
        return { type: "started", machine, ...started };
      }
      case "probe.readiness": {
        const request = parseRequest(probeRequestSchema, body, verb);
        // An exec probe runs a command inside the container: only for the deploy holding this
        // machine's lock, only in its own candidates, and the lock is checked again before each attempt.
        const exec = request.probe?.type === "exec";
        const lockHeld = () => assertLockHeld(deps.locks, machine, request.namespace, request.deployId);
        if (exec) await lockHeld();
        const container = await managedContainer(deps.docker, deps.clusterId, request.containerId);
        if (exec && !isCandidateOf(container.Config.Labels ?? {}, request.namespace, request.deployId)) {
          throw new InvalidArgumentError(
            `container ${shortContainerRef(request.containerId)} is not a candidate of deploy ${request.deployId} in namespace ${request.namespace}: an exec probe runs only in the asking deploy's own containers`,
          );
        }
        const result = await probeReadiness(deps.docker, container.Id, request.probe, exec ? { beforeExec: lockHeld } : {});
        return { type: "ready", machine, containerId: request.containerId, ...result };
      }
      case "container.remove": {
        const request = parseRequest(removeContainerRequestSchema, body, verb);
        // Not this cluster's (or gone): nothing of ours existed there, the same answer either way.
        const container = await findManagedContainer(deps.docker, deps.clusterId, request.containerId);
        if (!container) return { type: "removed", machine, containerId: request.containerId, existed: false };
        if (container.Config.Labels?.[LABELS.namespace] !== request.namespace) {
          throw new InvalidArgumentError(`container ${shortContainerRef(request.containerId)} is not a container of namespace ${request.namespace}`, {
            hint: "a deploy removes only its own namespace's containers",
          });
        }
        if (request.drainMs > 0) await new Promise((resolve) => setTimeout(resolve, request.drainMs));
        await assertFence(deps.jsm, request.namespace, request.fenceSeq, `removing container ${request.containerId.slice(0, 12)} of ${request.namespace} for deploy ${request.deployId}`);
        const existed = await removeContainer(deps.docker, container.Id, request.stopTimeoutS);
        deps.log.info({ namespace: request.namespace, deploy: request.deployId, container: request.containerId.slice(0, 12), existed }, "container removed");
        return { type: "removed", machine, containerId: request.containerId, existed };
      }
      case "container.logs": {
        const request = parseRequest(logsRequestSchema, body, verb);
        return { type: "logs", machine, containers: await readLogPages(deps.docker, deps.clusterId, request) } satisfies LogsReply;
      }
      case "exec":
        return await sessions.open(parseRequest(execRequestSchema, body, verb));
      case "debug.crash": {
        if (!deps.injectCrash) throw new InvalidArgumentError(`fault injection is off on machine ${machine} (start ployzd with --fault-injection)`);
        const request = parseRequest(crashRequestSchema, body, verb);
        deps.injectCrash(request.actor);
        return { type: "crashed", machine, actor: request.actor };
      }
      default:
        throw new NotFoundError(`machine ${machine} has no verb ${verb}`);
    }
  };
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    // Both run until stopped; if either ends, the other is stopped and the participant crashes (its supervisor restarts it).
    const local = new AbortController();
    const stop = () => local.abort();
    signal.addEventListener("abort", stop, { once: true });
    const sessions = new ExecSessions({ nc: deps.nc, js: deps.js, docker: deps.docker, clusterId: deps.clusterId, machineId: machine, journal: execJournal(join(deps.dataDir, "exec")), log: deps.log.child({ actor: "exec" }) });
    try {
      await sessions.reapLeftovers().catch((error: unknown) => deps.log.error({ err: error }, "could not end the exec sessions an earlier ployzd left running; they are tried again at the next start"));
      await Promise.race([
        serveRequests(deps.nc, (verb, body) => handle(verb, body, sessions), {
          subject: subjects.machineAll(machine),
          signal: local.signal,
          onError: (verb, error) => deps.log.warn({ verb, err: error }, "participant request failed"),
          ...(deps.onAnswered ? { onAnswered: deps.onAnswered } : {}),
        }),
        watchContainerEvents(deps.docker, deps.clusterId, local.signal, (event) => {
          deps.nc.publish(subjects.containerEvents(machine), JSON.stringify({ type: "container-event", machine, ...event, at: now() }));
        }),
      ]);
    } finally {
      signal.removeEventListener("abort", stop);
      local.abort();
      await sessions.endAll("the participant stopped (ployzd stopping or restarting it)");
    }
  });
}

