import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type Docker from "dockerode";
import type { NatsConnection } from "@nats-io/transport-node";
import { createActor, fromCallback, fromPromise, toPromise, type AnyActorLogic, type AnyActorRef, type InspectionEvent } from "xstate";
import { createApiServer } from "../actors/api/api.ts";
import { containerDns } from "../actors/dns/container-resolver.ts";
import type { WorkloadBridge } from "../model/workload-bridge.ts";
import type { DnsControl } from "../actors/dns/dns-control.ts";
import { createDnsApplier } from "../actors/dns/dns-server.ts";
import { credentialVerbs } from "../actors/api/credential-verbs.ts";
import { createAdmissionFollower } from "../actors/nats/follow-admission.ts";
import type { NatsAccess } from "./nats/access.ts";
import type { AcmeSettings } from "../actors/gateway/acme.ts";
import type { CaddyAdmin } from "../actors/gateway/caddy-admin.ts";
import { createGatewayApplier } from "../actors/gateway/gateway.ts";
import { createRoutingFollower } from "../actors/routing/follow-routing.ts";
import { routingConsumerMachine } from "../machines/routing-consumer.ts";
import type { GatewayListen } from "../model/caddy-config.ts";
import { newRoutingConsumerStatus, routingConsumerStatus, type RoutingConsumerSnapshot } from "../model/routing-status.ts";
import { DEFAULT_SUPERVISION_POLICY } from "../model/supervision.ts";
import type { HostPathRules } from "../model/bind-policy.ts";
import { bindPolicyVerbs } from "../actors/api/bind-policy-verbs.ts";
import { deployVerbs, forwardedOperationHandler } from "../actors/api/deploy-verbs.ts";
import { overviewVerbs } from "../actors/api/overview.ts";
import type { DeployStore } from "../actors/deploy/deploy-store.ts";
import { Participants } from "../actors/deploy/participants.ts";
import { deployTiming, newDeployId, provideDeployMachine, type DeployEffectsDeps } from "./deploy.ts";
import { provideReconciler, reconcilerInput } from "./reconciler.ts";
import { apiMachine } from "../machines/api.ts";
import type { Faults } from "../actors/faults.ts";
import { createInspector } from "../actors/inspector/inspector.ts";
import { createMeshEffects, type MeshEffectsDeps } from "../actors/mesh/mesh-effects.ts";
import { createWatchMachines } from "../actors/mesh/watch-machines.ts";
import { createWatchInvites } from "../actors/mesh/watch-invites.ts";
import { createJoinServer } from "../actors/mesh/join-server.ts";
import { admitJoiner } from "../actors/mesh/admit-joiner.ts";
import { inviteSecretsIn } from "../actors/mesh/invite-secrets.ts";
import { inviteVerbs } from "../actors/api/invite-verbs.ts";
import { joinListenerMachine, type JoinListenerInput } from "../machines/join-listener.ts";
import { LEAF_PORT } from "./nats/config.ts";
import { createParticipant } from "../actors/participant/participant.ts";
import { registerMachine } from "../actors/store/machines.ts";
import { recordNodeStatus } from "../actors/store/node-status.ts";
import { eventsVerbs } from "../actors/api/events-verbs.ts";
import { registerNodeSources, type NodeMetrics } from "./metrics.ts";
import { logsVerbs } from "../actors/api/logs-verbs.ts";
import { subjects } from "../model/subjects.ts";
import { meshPeerMachine, type MeshPeerInput, type MeshSettings } from "../machines/mesh-peer.ts";
import { meshStatus, type MeshPeerSnapshot } from "../machines/mesh-status.ts";
import type { MeshObservation } from "../model/mesh-observation.ts";
import { probeLatencies } from "../actors/mesh/probe-latency.ts";
import { NODE_CHILDREN, nodeMachine, type NodeChildName } from "../machines/node.ts";
import { supervisedChildMachine } from "../machines/supervised-child.ts";
import { ActorTable } from "../model/actor-table.ts";
import { InvalidArgumentError, NotFoundError } from "../model/errors.ts";
import type { MachineRecord } from "../model/machine.ts";
import type { ChildStatus } from "../model/observation.ts";
import { toInspectionRecord } from "./inspection.ts";
import type { Logger } from "./logger.ts";
import type { Store } from "./store.ts";

export interface NodeSystemDeps {
  nc: NatsConnection;
  store: Store;
  docker: Docker;
  record: MachineRecord;
  dataDir: string;
  /** What this machine refuses to bind always (runtime/host-paths.ts), and the cluster's default directories. */
  hostPaths: HostPathRules;
  version: string;
  log: Logger;
  faultInjection: boolean;
  /** How long a replaced instance keeps serving before it is stopped. */
  drainMs: number;
  /** How often each namespace's reconciler looks without being poked. */
  reconcileIntervalMs: number;
  /** Fault points armed with `--fault-injection` and PLOYZ_FAULTS (tests). */
  faults: Faults;
  /** The gateway's Caddy, and this machine's ACME directory when `tls: acme` routes may be ordered here. */
  gateway: { admin: CaddyAdmin; listen: GatewayListen; acme?: AcmeSettings };
  /** Where the DNS process listens (for the status and containers' resolver) and its control socket. */
  dns: { host: string; port: number; control: DnsControl };
  /** The bridge that holds this machine's workload subnet (absent: Docker's default bridge): containers join it and resolve through its address. */
  workloadBridge?: WorkloadBridge;
  /** Who this machine's nats-server admits (runtime/nats/access.ts). */
  access: Pick<NatsAccess, "apply" | "whenApplied">;
  /** Extra inspection listener (the Stately inspector with `ployzd run --inspect`). */
  inspect?: (event: InspectionEvent) => void;
  /** `false` (`ployzd run --no-inspector`): no actor table, nothing on `ployz.actors.<id>`; for measuring its cost. */
  inspector?: boolean;
  /** This node's Prometheus metrics (runtime/metrics.ts); the node feeds them and is read at scrape. */
  metrics: NodeMetrics;
  /**
   * This machine's WireGuard: meshPeer keeps the interface's peers and routes in line with KV
   * machines. Absent (one dev machine): meshPeer only follows membership.
   */
  mesh?: { settings: MeshSettings; effects: Omit<MeshEffectsDeps, "log"> };
  /**
   * Taking machines in (with the mesh): where the join listener binds and the address tokens carry,
   * this machine's WireGuard key, the cluster's leaf secret, and where invite secrets are kept.
   */
  join?: { host: string; port: number; address: string; wireguardKey: string; leafSecret: () => Promise<string>; secretsDir: string };
}

/** The running node: its root actor and the handles the daemon needs. */
export interface NodeSystem {
  actor: AnyActorRef;
  table: ActorTable;
  /** Resolves once registration is done and the children run; rejects with the registration error. */
  ready: Promise<void>;
  children(): ChildStatus[];
  injectCrash(name: string): void;
  /** Starts a supervised child afresh (what it drives was replaced), without counting a crash. */
  refresh(name: NodeChildName, reason: string): void;
  /** Stops every child, records the stop as Status, and resolves when the node is done. */
  stop(): Promise<void>;
}

/** Wires the pure node statechart to its real effects and starts it. */
export function startNodeSystem(deps: NodeSystemDeps): NodeSystem {
  const { nc, store, record, log } = deps;
  const machineId = record.id;
  const table = new ActorTable();
  const inspecting = deps.inspector !== false;
  const recordInspection = (event: InspectionEvent) => {
    const rec = toInspectionRecord(event, Date.now());
    if (rec) table.apply(rec);
  };
  const startedAt = new Date().toISOString();
  let registrationError: unknown;
  let actor: AnyActorRef;

  const children = (): ChildStatus[] => {
    const refs = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
    return NODE_CHILDREN.flatMap((name) => {
      const snapshot = refs[name]?.getSnapshot() as
        | { value: ChildStatus["state"]; context: { restarts: number; lastError?: string; since: number } }
        | undefined;
      if (!snapshot) return [];
      const status: ChildStatus = {
        name,
        state: snapshot.value,
        restarts: snapshot.context.restarts,
        since: new Date(snapshot.context.since).toISOString(),
      };
      if (snapshot.context.lastError) status.lastError = snapshot.context.lastError;
      return [status];
    });
  };
  const injectCrash = (name: string) => {
    const ref = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children[name];
    if (!ref || !(NODE_CHILDREN as readonly string[]).includes(name)) {
      throw new NotFoundError(`machine ${machineId} has no supervised actor ${name} (there are: ${NODE_CHILDREN.join(", ")})`);
    }
    const state = (ref.getSnapshot() as { value: string }).value;
    if (state !== "running") throw new InvalidArgumentError(`${name} on machine ${machineId} is ${state}, not running: nothing to crash`);
    log.warn({ actor: name }, "crash injected");
    ref.send({ type: "INJECT_CRASH", reason: "crash injected by ployzctl debug crash" });
  };

  const consumers = {
    gateway: { kind: "gateway" as const, listen: deps.gateway.listen.http },
    dns: { kind: "dns" as const, listen: `${deps.dns.host}:${deps.dns.port}` },
  };
  /** What each routing consumer serves, read from its statechart's snapshot (asked, not shared). */
  const routingStatus = () =>
    (["gateway", "dns"] as const).map((name) => {
      const wrapper = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children[name];
      const wrapped = wrapper?.getSnapshot() as { value: string; children?: Record<string, AnyActorRef | undefined> } | undefined;
      const consumer = wrapped?.children?.child;
      if (!consumer || consumer.getSnapshot().status !== "active") {
        return { ...newRoutingConsumerStatus(consumers[name].kind, consumers[name].listen), freshness: { state: "stale" as const, since: new Date().toISOString(), reason: `the ${name} actor is ${wrapped?.value ?? "not running"}` } };
      }
      return routingConsumerStatus(consumer.getSnapshot() as RoutingConsumerSnapshot);
    });
  /** The mesh as meshPeer's snapshot holds it, with each peer's latency measured now (over the overlay). */
  const meshObservation = async (): Promise<MeshObservation> => {
    const wrapper = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children.meshPeer;
    const meshPeer = (wrapper?.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> } | undefined)?.children?.child;
    const snapshot = meshPeer?.getSnapshot() as MeshPeerSnapshot | undefined;
    const peers = snapshot?.status === "active" ? (snapshot.context.pending?.peers ?? snapshot.context.applied) : [];
    const latency = await probeLatencies(peers.map((p) => ({ key: p.machineId, address: p.overlayIp })));
    return meshStatus(snapshot, machineId, Date.now(), latency);
  };
  const follower = createRoutingFollower({ nc, js: store.js, jsm: store.jsm });
  const consumerActions = {
    freshnessChanged: (_: unknown, params: { kind: "gateway" | "dns"; freshness: "fresh" | "stale"; reason?: string }) => {
      if (params.freshness === "stale") log.warn({ actor: params.kind, reason: params.reason }, "routing projection stale; serving the last good one");
      else log.info({ actor: params.kind }, "routing projection fresh");
    },
  };

  const deployStore: DeployStore = {
    js: store.js,
    jsm: store.jsm,
    machines: store.kv.machines,
    regions: store.kv.regions,
    namespaces: store.kv.namespaces,
    instances: store.kv.instances,
    leases: store.kv.leases,
    claims: store.kv.claims,
    policy: store.kv.policy,
  };
  const participants = new Participants(nc, machineId);
  const inviteSecrets = inviteSecretsIn(deps.join?.secretsDir ?? join(deps.dataDir, "invites"));
  const timing = deployTiming(deps.drainMs);
  const incarnation = randomBytes(6).toString("hex");
  const effects: DeployEffectsDeps = { nc, store: deployStore, images: store.images, participants, machineId, incarnation, log, faults: deps.faults, hostPaths: deps.hostPaths, metrics: deps.metrics };
  const deployVerbDeps = { nc, store: deployStore, participants, machineId, incarnation, timing, newDeployId, log };

  const supervise = (child: AnyActorLogic) =>
    supervisedChildMachine.provide({ actors: { child: child as never } });

  const node = nodeMachine.provide({
    actors: {
      handOver: fromPromise(async () => await handOverOperations(actor, HANDOVER_TIMEOUT_MS, log)),
      registerMachine: fromPromise(async () => {
        try {
          await registerMachine(store.kv.machines, record);
          await recordNodeStatus(store.js, { type: "node", machine: machineId, at: new Date().toISOString(), event: "started", version: deps.version });
        } catch (error) {
          registrationError = error;
          throw error;
        }
      }),
      recordStopped: fromPromise(async () => {
        await recordNodeStatus(store.js, { type: "node", machine: machineId, at: new Date().toISOString(), event: "stopped", version: deps.version });
      }),
      participant: supervise(
        createParticipant({
          nc,
          onAnswered: (verb, seconds, ok) => deps.metrics.requestAnswered("participant", verb, seconds, ok),
          jsm: store.jsm,
          js: store.js,
          clusterId: store.clusterId,
          docker: deps.docker,
          locks: store.kv.locks,
          leases: store.kv.leases,
          images: store.images,
          secrets: store.kv.secrets,
          policy: store.kv.policy,
          hostPaths: deps.hostPaths,
          machineId,
          dataDir: deps.dataDir,
          configDir: join(deps.dataDir, "configs"),
          routing: routingStatus,
          mesh: meshObservation,
          // Asked at each start: the bridge may appear after ployzd started; on port 53 only (resolv.conf has no port).
          get dns() { return containerDns(deps.dns, deps.workloadBridge); },
          ...(deps.workloadBridge ? { network: deps.workloadBridge.network } : {}),
          log,
          children,
          ...(deps.faultInjection ? { injectCrash } : {}),
        }),
      ),
      api: supervise(
        apiMachine.provide({
          actors: {
            serve: createApiServer({
              nc,
              jsm: store.jsm,
              machines: store.kv.machines,
              meta: store.kv.meta,
              machineId,
              version: deps.version,
              startedAt,
              log,
              observeTimeoutMs: 2_000,
              onAnswered: (verb, seconds, ok) => deps.metrics.requestAnswered("api", verb, seconds, ok),
              forwarded: (run) => forwardedOperationHandler(deployVerbDeps, run),
              verbs: (run) => ({
                ...deployVerbs(deployVerbDeps, run),
                ...credentialVerbs({ credentials: store.kv.credentials, machineId, whenApplied: (record) => deps.access.whenApplied(record) }),
                ...bindPolicyVerbs({ policy: store.kv.policy, hostPaths: deps.hostPaths, machineId }),
                ...inviteVerbs({
                  invites: store.kv.invites,
                  machineId,
                  clusterId: store.clusterId,
                  region: record.region,
                  ...(deps.join ? { join: { address: deps.join.address, wireguardKey: deps.join.wireguardKey } } : {}),
                  secrets: inviteSecrets,
                }),
                ...eventsVerbs({ js: store.js, jsm: store.jsm }),
                ...logsVerbs({ nc, instances: store.kv.instances }),
                ...overviewVerbs({ jsm: store.jsm, machines: store.kv.machines, regions: store.kv.regions, namespaces: store.kv.namespaces, leases: store.kv.leases, machineId }),
              }),
            }),
            deploy: provideDeployMachine(effects),
          },
        }),
      ),
      reconciler: supervise(provideReconciler({ ...effects, timing, intervalMs: deps.reconcileIntervalMs, reconcilerMetrics: deps.metrics })),
      inspector: supervise(
        inspecting
          ? createInspector({ nc, machineId, table, minIntervalMs: 250, heartbeatMs: 2_000 })
          : fromPromise<void, { name: string }>(() => new Promise<void>(() => {})), // idles until stopped
      ),
      meshPeer: supervise(
        meshPeerMachine.provide({
          actors: {
            watchMachines: createWatchMachines(nc, store.kv.machines),
            ...(deps.mesh ? createMeshEffects({ ...deps.mesh.effects, log: log.child({ actor: "meshPeer" }) }) : {}),
          },
        }),
      ),
      joinListener: supervise(
        joinListenerMachine.provide({
          actors: {
            watchInvites: createWatchInvites(nc, store.kv.invites),
            listen: deps.join
              ? createJoinServer({
                  host: deps.join.host,
                  port: deps.join.port,
                  admit: (body) =>
                    admitJoiner(
                      {
                        machineId,
                        clusterId: store.clusterId,
                        invites: store.kv.invites,
                        machines: store.kv.machines,
                        mesh: store.kv.mesh,
                        secrets: inviteSecrets,
                        leafSecret: deps.join!.leafSecret,
                        leafPort: LEAF_PORT,
                        log: log.child({ actor: "joinListener" }),
                        recordJoin: (joined, detail) => recordNodeStatus(store.js, { type: "node", machine: joined.id, at: new Date().toISOString(), event: "joined", detail, version: deps.version }),
                      },
                      body,
                    ),
                  log: log.child({ actor: "joinListener" }),
                })
              : fromCallback(() => {
                  throw new Error(`machine ${machineId} runs without a mesh: it has no join listener`);
                }),
          },
        }),
      ),
      access: supervise(createAdmissionFollower({ nc, machines: store.kv.machines, credentials: store.kv.credentials, apply: deps.access.apply, log: log.child({ actor: "access" }) })),
      gateway: supervise(
        routingConsumerMachine.provide({
          actors: {
            follow: follower,
            apply: createGatewayApplier({
              nc,
              admin: deps.gateway.admin,
              listen: deps.gateway.listen,
              tls: store.kv.tls,
              machineId,
              ...(deps.gateway.acme ? { acme: deps.gateway.acme } : {}),
              recordOrder: async (record) => void (await store.js.publish(subjects.certificateStatus(machineId), JSON.stringify(record))),
              log: log.child({ actor: "gateway" }),
            }),
          },
          actions: consumerActions,
        }),
      ),
      dns: supervise(
        routingConsumerMachine.provide({
          actors: {
            follow: follower,
            apply: createDnsApplier({ control: deps.dns.control, log: log.child({ actor: "dns" }) }),
          },
          actions: consumerActions,
        }),
      ),
    },
  });

  actor = createActor(node, {
    input: {
      machineId,
      now: Date.now,
      childInputs: {
        api: { machineId },
        joinListener: { name: "joinListener", machineId } satisfies JoinListenerInput,
        ...(deps.mesh ? { meshPeer: { name: "meshPeer", mesh: deps.mesh.settings } satisfies MeshPeerInput } : {}),
        reconciler: reconcilerInput({ ...effects, timing, intervalMs: deps.reconcileIntervalMs }),
        gateway: { ...consumers.gateway, now: Date.now, reloadBackoff: ROUTING_RELOAD_BACKOFF },
        dns: { ...consumers.dns, now: Date.now, reloadBackoff: ROUTING_RELOAD_BACKOFF },
      },
    },
    ...(inspecting || deps.inspect
      ? {
          inspect: (event: InspectionEvent) => {
            if (inspecting) recordInspection(event);
            deps.inspect?.(event);
          },
        }
      : {}),
  });

  // Supervision facts go to the log; a child that becomes failed is also durable Status.
  const watchChildren = () => {
    const refs = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
    for (const name of NODE_CHILDREN) {
      let previous = "running";
      refs[name]?.subscribe(() => {
        const child = children().find((c) => c.name === name);
        if (!child || child.state === previous) return;
        previous = child.state;
        if (child.state === "backoff") log.warn({ actor: name, error: child.lastError, restarts: child.restarts }, "actor crashed, restarting after backoff");
        if (child.state === "running") log.info({ actor: name, restarts: child.restarts }, "actor restarted");
        if (child.state === "failed") {
          log.error({ actor: name, error: child.lastError }, "actor crash-looped and is marked failed");
          void recordNodeStatus(store.js, {
            type: "node",
            machine: machineId,
            at: new Date().toISOString(),
            event: "child-failed",
            detail: `${name}: ${child.lastError ?? "unknown error"}`,
            version: deps.version,
          }).catch((error: unknown) => log.error({ err: error }, "could not record child-failed status"));
        }
      });
    }
  };

  const ready = new Promise<void>((resolve, reject) => {
    const sub = actor.subscribe((snapshot) => {
      const value = (snapshot as { value: unknown }).value;
      if ((snapshot as { matches(state: string): boolean }).matches("running")) {
        sub.unsubscribe();
        watchChildren();
        resolve();
      } else if (value === "failed" || value === "stopped") {
        sub.unsubscribe();
        reject(registrationError ?? new Error(`node ${machineId} ended in ${String(value)}`));
      }
    });
  });

  actor.start();
  registerNodeSources(deps.metrics, { children, routing: routingStatus, natsRoundTrip: async () => (await nc.rtt()) / 1000 });

  return {
    actor,
    table,
    ready,
    children,
    injectCrash,
    refresh(name, reason) {
      const ref = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children[name];
      log.warn({ actor: name, reason }, "actor started afresh");
      ref?.send({ type: "REFRESH", reason });
    },
    async stop() {
      if (actor.getSnapshot().status === "active") actor.send({ type: "STOP" });
      await toPromise(actor).catch(() => undefined);
    },
  };
}

/** Between reloads of a routing consumer that keep failing (the store unreachable): 500 ms doubling to 5 s. */
const ROUTING_RELOAD_BACKOFF = { ...DEFAULT_SUPERVISION_POLICY, initialBackoffMs: 500, maxBackoffMs: 5_000 };

/** How long ployzd waits on SIGTERM for its deploys to compensate or hand over. */
const HANDOVER_TIMEOUT_MS = 15_000;

/**
 * Tells the API actor to take nothing new and waits until each of its coordinators compensated
 * (before the commit) or handed what is left to the reconciler (after it), for at most
 * `timeoutMs`. Nothing to wait for when the API is not running.
 */
async function handOverOperations(node: AnyActorRef, timeoutMs: number, log: Logger): Promise<void> {
  const wrapper = (node.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children.api;
  const api = (wrapper?.getSnapshot() as { value?: unknown; children?: Record<string, AnyActorRef | undefined> } | undefined)?.children?.child;
  if (!api || api.getSnapshot().status !== "active") return;
  const settled = (snapshot: { status: string; value?: unknown; context?: { running?: string[] } }) => snapshot.status !== "active" || snapshot.value === "drained";
  const running = (api.getSnapshot() as { context: { running: string[] } }).context.running;
  if (running.length > 0) log.info({ deploys: running }, "stopping: deploys in flight compensate or hand over to the reconciler");
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn({ deploys: (api.getSnapshot() as { context: { running: string[] } }).context.running }, "stopping: deploys did not end in time; the reconciler finishes them at the next start");
      done();
    }, timeoutMs);
    const sub = api.subscribe({ next: (snapshot) => settled(snapshot as never) && done(), error: () => done(), complete: () => done() });
    function done() {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve();
    }
    api.send({ type: "SHUTDOWN" });
    if (settled(api.getSnapshot() as never)) done();
  });
}
