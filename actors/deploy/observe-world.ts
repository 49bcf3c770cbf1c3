import type { ObjectStore } from "@nats-io/obj";
import type { DeployOperation, World } from "../../model/deploy.ts";
import type { MachineView } from "../../model/plan.ts";
import { describeRollForward, instancesOfHead, observedDead, planRollForward, type ContainerObservation } from "../../model/roll-forward.ts";
import { hasBinds } from "../../model/bind-policy.ts";
import { allowedBindDirs } from "../store/bind-policy.ts";
import { readMachines } from "../store/machines.ts";
import { loadProjection } from "../routing/follow-routing.ts";
import { readHead } from "./commits.ts";
import type { DeployStore } from "./deploy-store.ts";
import { readInstances, readInstancesDoc, readNamespaceRecord } from "./derived-store.ts";
import { readLease } from "./lease.ts";
import { readRegions, regionRoles } from "./namespace-store.ts";
import type { Participants } from "./participants.ts";
import { resolveImages } from "./resolve-images.ts";
import { checkClaims } from "./route-claims.ts";

/**
 * Everything a deploy decides from, gathered now: Intent from the store (membership, regions,
 * the head commit, which is what runs) and Observation asked live of every active machine
 * (capacity, and which of the head's containers still run), and the exact image every reference
 * of the spec resolves to, and the namespace's bind policy when the spec has binds.
 */
export async function observeWorld(
  store: DeployStore,
  images: ObjectStore,
  participants: Participants,
  self: { machineId: string; deployId: string },
  namespace: string,
  operation: DeployOperation,
): Promise<World> {
  const [{ machines }, head, all, regions, routing, instancesDoc, record, lease] = await Promise.all([
    readMachines(store.machines),
    readHead(store.jsm, namespace),
    readInstances(store.instances),
    readRegions(store.regions),
    loadProjection(store.js, store.jsm),
    readInstancesDoc(store.instances, namespace),
    readNamespaceRecord(store.namespaces, namespace),
    readLease(store.leases, namespace),
  ]);
  const active = machines.filter((m) => m.state === "active");
  const current = head ? instancesOfHead(head) : [];
  const reservedElsewhere: Record<string, { cpu: number; memory: number }> = {};
  for (const instance of all) {
    if (instance.namespace === namespace) continue;
    const r = (reservedElsewhere[instance.machine] ??= { cpu: 0, memory: 0 });
    r.cpu += instance.resources.cpu ?? 0;
    r.memory += instance.resources.memory ?? 0;
  }
  const observed = await Promise.all(
    active.map(async (machine): Promise<{ view: MachineView; containers: ContainerObservation }> => {
      try {
        const [capacity, instances] = await Promise.all([participants.capacity(machine.id), participants.instances(machine.id, namespace)]);
        return { view: { machine, reachable: true, capacity }, containers: { machine: machine.id, reachable: true, containers: instances.containers } };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { view: { machine, reachable: false, error: message }, containers: { machine: machine.id, reachable: false, error: message } };
      }
    }),
  );
  const spec = operation.kind === "deploy" ? operation.spec : undefined;
  const claimConflicts = spec ? await checkClaims(store.claims, namespace, spec) : [];
  const bindAllowed = spec && hasBinds(Object.values(spec.services)) ? await allowedBindDirs(store.policy, namespace) : [];
  const resolved = spec ? await resolveImages(images, participants, self.machineId, Object.values(spec.services).map((s) => s.image), operation.kind === "deploy" ? operation.images : undefined) : {};
  const containers = observed.map((o) => o.containers);
  const inFlightDeploy = lease && lease.deployId !== self.deployId ? lease.deployId : undefined;
  const unsettled = head
    ? describeRollForward({
        ...planRollForward({
          head,
          derived: { instances: instancesDoc.value, routing: [...routing.records.values()].filter((r) => r.namespace === namespace), invalidRouting: [], namespace: record },
          observed: containers,
          inFlightDeploy,
          at: new Date().toISOString(),
        }),
        dead: [],
      })
    : containers.flatMap((o) => (o.reachable ? o.containers.filter((c) => c.deployId !== inFlightDeploy).map((c) => `leftover ${c.name} on ${o.machine} (deploy ${c.deployId})`) : []));
  return {
    head,
    unsettled,
    planInput: {
      baseCommitSeq: head?.seq ?? null,
      current,
      dead: head ? observedDead(head, containers) : {},
      images: resolved,
      reservedElsewhere,
      machines: observed.map((o) => o.view),
      regions: regionRoles(regions),
    },
    routes: [...routing.records.values()],
    claimConflicts,
    bindAllowed,
  };
}
