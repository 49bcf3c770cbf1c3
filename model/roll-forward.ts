import type { NamespaceRecord, StoredHead } from "./commit.ts";
import { compareText } from "./compare.ts";
import type { InstanceRecord, NamespaceInstances } from "./instance.ts";
import type { ServiceSpec } from "./manifest.ts";
import type { ManagedContainer } from "./participant.ts";
import { instanceLabel } from "./placement.ts";
import type { RoutingRecord } from "./routing.ts";

/**
 * The roll-forward, decided: everything derived from a namespace's head commit (instance
 * records, routing records, the namespace record) and what to do with containers the head does
 * not name. Pure: the same head, derived records and observation give the same plan, so running
 * it again after a crash, on a timer or after a container event changes nothing more.
 */

/** What one machine said about the namespace's containers just now. */
export type ContainerObservation = { machine: string; reachable: true; containers: ManagedContainer[] } | { machine: string; reachable: false; error: string };

/** The derived records as they are in the store now (null: absent). */
export interface DerivedRecords {
  instances: NamespaceInstances | null;
  /** The last routing record of every service of the namespace, deleted ones included. */
  routing: RoutingRecord[];
  /** Services whose last routing record does not parse: rewritten from the head. */
  invalidRouting: string[];
  namespace: NamespaceRecord | null;
}

/** A container of the namespace that the head does not name: an old instance or a finished deploy's candidate. */
export interface Leftover {
  machine: string;
  containerId: string;
  name: string;
  deployId: string;
  /** Some gateway may route to it now: remove it only after routing moved on and the drain delay. */
  routed: boolean;
}

/** A placed instance whose container is not running. */
export interface DeadInstance {
  service: string;
  slot: number;
  machine: string;
  containerId: string;
  /** What was seen: `exited (137)`, `is missing`, `is restarting` … */
  seen: string;
  /** Docker itself is bringing it back (restarting), or it is only paused: not dead for planning. */
  transient: boolean;
  /** Whether the service's restart policy wants it replaced (Docker is not bringing it back). */
  replace: boolean;
}

export interface RollForwardPlan {
  namespace: string;
  headSeq: number;
  /** A derived record already comes from this newer head: the head read is stale, nothing is written. */
  supersededBy: number | null;
  /** Whole documents to write, or null where the store already holds them. */
  instances: NamespaceInstances | null;
  routing: RoutingRecord[];
  namespaceRecord: NamespaceRecord | null;
  leftovers: Leftover[];
  dead: DeadInstance[];
}

export interface RollForwardInput {
  head: StoredHead;
  derived: DerivedRecords;
  observed: ContainerObservation[];
  /** A deploy that holds the lease now and is not the one rolling forward: its candidates are left alone. */
  inFlightDeploy?: string | undefined;
  at: string;
}

/** Container states in which Docker itself is bringing the container back, or it is only paused. */
const TRANSIENT_STATES = new Set(["restarting", "paused", "removing"]);

export function planRollForward(input: RollForwardInput): RollForwardPlan {
  const { head } = input;
  const namespace = head.namespace;
  const newer = Math.max(input.derived.instances?.commitSeq ?? 0, input.derived.namespace?.headSeq ?? 0, ...input.derived.routing.map((r) => r.commitSeq));
  if (newer > head.seq) {
    return { namespace, headSeq: head.seq, supersededBy: newer, instances: null, routing: [], namespaceRecord: null, leftovers: [], dead: [] };
  }
  const placement = head.type === "commit" ? head.placement : [];
  const services: Record<string, ServiceSpec> = head.type === "commit" ? head.spec.services : {};
  const byId = new Map<string, { machine: string; container: ManagedContainer }>();
  const reachable = new Map<string, boolean>();
  for (const o of input.observed) {
    reachable.set(o.machine, o.reachable);
    if (o.reachable) for (const c of o.containers) byId.set(c.containerId, { machine: o.machine, container: c });
  }

  // 1. Instance records: the head's placement, whole.
  const instances = instancesOfHead(head, (id) => byId.get(id)?.container.name);
  const instancesDoc: NamespaceInstances = { type: "instances", namespace, commitSeq: head.seq, instances };
  const current = input.derived.instances;
  const instancesChanged = current === null || current.commitSeq < head.seq || JSON.stringify(current.instances) !== JSON.stringify(instances);

  // 2. Liveness of what the head placed.
  const { dead, alive } = liveness(head, input.observed);

  // 3. Routing: one whole record per service; published when its content changed or it was derived from an older head.
  const previous = new Map(input.derived.routing.map((r) => [r.service, r]));
  const routing: RoutingRecord[] = [];
  for (const [service, spec] of Object.entries(services).sort(([a], [b]) => compareText(a, b))) {
    const before = previous.get(service);
    const backends = placement
      .filter((p) => p.service === service)
      .flatMap((p) => {
        const address = alive.get(p.containerId);
        if (address) return [{ slot: p.slot, machine: p.machine, address }];
        // An unreachable machine's instance keeps the address it was last routed at.
        if (reachable.get(p.machine) !== true) return (before?.backends ?? []).filter((b) => b.slot === p.slot && b.machine === p.machine);
        return [];
      })
      .sort((a, b) => a.slot - b.slot);
    const record: RoutingRecord = {
      type: "routing",
      namespace,
      service,
      commitSeq: head.seq,
      revision: head.type === "commit" ? (head.revisions[service] ?? "") : "",
      deleted: false,
      routes: spec.routes,
      ports: spec.ports.map((p) => ({ container: p.container, protocol: p.protocol })),
      backends,
      at: input.at,
    };
    if (!before || before.deleted || before.commitSeq < head.seq || !sameRouting(before, record)) routing.push(record);
  }
  for (const [service, before] of [...previous].sort(([a], [b]) => compareText(a, b))) {
    if (services[service] || before.deleted) continue;
    routing.push({ ...before, commitSeq: head.seq, deleted: true, routes: [], backends: [], at: input.at });
  }
  // A record that does not parse is replaced: by the service's record, or a deletion if the head has no such service.
  for (const service of [...input.derived.invalidRouting].sort(compareText)) {
    if (services[service] || previous.has(service)) continue;
    routing.push({ type: "routing", namespace, service, commitSeq: head.seq, revision: "", deleted: true, routes: [], ports: [], backends: [], at: input.at });
  }

  // 4. The namespace record.
  const record: NamespaceRecord = {
    name: namespace,
    authority: head.authority,
    headSeq: head.seq,
    headDeployId: head.deployId,
    state: head.type === "removal" ? "removed" : "active",
    updatedAt: input.at,
  };
  const ns = input.derived.namespace;
  const namespaceChanged = ns === null || ns.headSeq < head.seq || ns.authority !== record.authority || ns.state !== record.state || ns.headDeployId !== record.headDeployId;

  // 5. Leftovers: containers the head does not name, except the candidates of a deploy in flight.
  const placed = new Set(placement.map((p) => p.containerId));
  const routedAddresses = new Set(input.derived.routing.flatMap((r) => r.backends.map((b) => `${b.machine}/${b.address}`)));
  const leftovers: Leftover[] = [];
  for (const o of input.observed) {
    if (!o.reachable) continue;
    for (const c of o.containers) {
      if (placed.has(c.containerId)) continue;
      if (input.inFlightDeploy !== undefined && c.deployId === input.inFlightDeploy) continue;
      leftovers.push({ machine: o.machine, containerId: c.containerId, name: c.name, deployId: c.deployId, routed: c.address !== undefined && routedAddresses.has(`${o.machine}/${c.address}`) });
    }
  }
  leftovers.sort((a, b) => compareText(a.machine, b.machine) || compareText(a.name, b.name));

  return {
    namespace,
    headSeq: head.seq,
    supersededBy: null,
    instances: instancesChanged ? instancesDoc : null,
    routing,
    namespaceRecord: namespaceChanged ? record : null,
    leftovers,
    dead,
  };
}

/** The instance records a head implies (its placement, with what the spec says of ports and resources). */
export function instancesOfHead(head: StoredHead, nameOf: (containerId: string) => string | undefined = () => undefined): InstanceRecord[] {
  if (head.type !== "commit") return [];
  return head.placement
    .map((p): InstanceRecord => {
      const spec = head.spec.services[p.service];
      return {
        namespace: head.namespace,
        service: p.service,
        slot: p.slot,
        machine: p.machine,
        revision: p.revision,
        containerId: p.containerId,
        containerName: p.containerName ?? nameOf(p.containerId) ?? p.containerId.slice(0, 12),
        ports: (spec?.ports ?? []).map((port) => ({ container: port.container, protocol: port.protocol, ...(port.published ? { published: port.published } : {}) })),
        resources: { ...(spec?.resources.cpu ? { cpu: spec.resources.cpu } : {}), ...(spec?.resources.memory ? { memory: spec.resources.memory } : {}) },
        deployId: p.deployId ?? head.deployId,
        commitSeq: head.seq,
        createdAt: p.startedAt ?? head.createdAt,
      };
    })
    .sort((a, b) => compareText(a.service, b.service) || a.slot - b.slot);
}

/**
 * Which of the head's instances run (with their address now) and which are dead, from what the
 * machines said. Instances on machines that did not answer are neither: their state is unknown.
 */
export function liveness(head: StoredHead, observed: readonly ContainerObservation[]): { dead: DeadInstance[]; alive: Map<string, string> } {
  const dead: DeadInstance[] = [];
  const alive = new Map<string, string>(); // containerId → address
  if (head.type !== "commit") return { dead, alive };
  const byId = new Map<string, { machine: string; container: ManagedContainer }>();
  const reachable = new Set<string>();
  for (const o of observed) {
    if (!o.reachable) continue;
    reachable.add(o.machine);
    for (const c of o.containers) byId.set(c.containerId, { machine: o.machine, container: c });
  }
  for (const p of head.placement) {
    if (!reachable.has(p.machine)) continue;
    const seen = byId.get(p.containerId);
    const restart = head.spec.services[p.service]?.restart ?? "unless-stopped";
    if (!seen || seen.machine !== p.machine) {
      dead.push({ service: p.service, slot: p.slot, machine: p.machine, containerId: p.containerId, seen: "is missing", transient: false, replace: restart !== "no" });
      continue;
    }
    const { state, address, exitCode } = seen.container;
    if (state === "running") {
      if (address) alive.set(p.containerId, address); // running without an address yet: not routable, not dead
      continue;
    }
    const transient = TRANSIENT_STATES.has(state);
    const what = state === "exited" ? `exited (${exitCode ?? "?"})` : `is ${state}`;
    dead.push({ service: p.service, slot: p.slot, machine: p.machine, containerId: p.containerId, seen: what, transient, replace: !transient && wantsReplacement(restart, state, exitCode) });
  }
  return { dead, alive };
}

/**
 * The planner's view of dead instances (container id → what was seen): any that is not running
 * and that Docker is not bringing back. A deploy replaces these whatever the restart policy.
 */
export function observedDead(head: StoredHead, observed: readonly ContainerObservation[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of liveness(head, observed).dead) if (!d.transient) out[d.containerId] = d.seen;
  return out;
}

/** Whether an instance that stopped should be replaced under its restart policy (Docker gave up on it). */
function wantsReplacement(restart: ServiceSpec["restart"], state: string, exitCode: number | undefined): boolean {
  if (restart === "no") return false;
  if (restart === "on-failure") return state !== "exited" || exitCode !== 0;
  return true;
}

/** Nothing to write and nothing to remove: the namespace is what its head says. */
export function isSettled(plan: RollForwardPlan): boolean {
  return plan.instances === null && plan.routing.length === 0 && plan.namespaceRecord === null && plan.leftovers.length === 0;
}

/** One line per thing the plan does, for Status and the log. */
export function describeRollForward(plan: RollForwardPlan): string[] {
  const lines: string[] = [];
  if (plan.instances) lines.push(`instance records of ${plan.namespace} → commit ${plan.headSeq} (${plan.instances.instances.length})`);
  for (const r of plan.routing) lines.push(r.deleted ? `routing ${r.service}: deleted` : `routing ${r.service}: ${r.backends.length} backend${r.backends.length === 1 ? "" : "s"}`);
  if (plan.namespaceRecord) lines.push(`namespace record → head ${plan.headSeq}${plan.namespaceRecord.state === "removed" ? " (removed)" : ""}`);
  for (const d of plan.dead) lines.push(`${instanceLabel(d.service, d.slot)} on ${d.machine}: container ${d.seen}${d.replace ? ", to be replaced" : ""}`);
  for (const l of plan.leftovers) lines.push(`leftover ${l.name} on ${l.machine} (deploy ${l.deployId})`);
  return lines;
}

function sameRouting(a: RoutingRecord, b: RoutingRecord): boolean {
  return JSON.stringify([a.routes, a.ports, a.backends, a.revision]) === JSON.stringify([b.routes, b.ports, b.backends, b.revision]);
}
