import type { World } from "../../model/deploy.ts";
import type { MachineView } from "../../model/plan.ts";
import { readMachines } from "../store/machines.ts";
import { loadProjection } from "../routing/follow-routing.ts";
import type { DeployStore } from "./deploy-store.ts";
import { readHead, readInstances, readRegions, regionRoles } from "./namespace-store.ts";
import type { Participants } from "./participants.ts";

/**
 * Everything a deploy decides from, gathered now: Intent from the store (membership, regions,
 * head commit, instances) and Observation asked live of every active machine (capacity, and the
 * containers of this namespace that no commit knows — orphans of deploys that never committed).
 */
export async function observeWorld(store: DeployStore, participants: Participants, namespace: string): Promise<World> {
  const [{ machines }, head, all, regions, routing] = await Promise.all([
    readMachines(store.machines),
    readHead(store.jsm, namespace),
    readInstances(store.instances),
    readRegions(store.regions),
    loadProjection(store.js, store.jsm),
  ]);
  const active = machines.filter((m) => m.state === "active");
  const current = all.filter((i) => i.namespace === namespace);
  const reservedElsewhere: Record<string, { cpu: number; memory: number }> = {};
  for (const instance of all) {
    if (instance.namespace === namespace) continue;
    const r = (reservedElsewhere[instance.machine] ??= { cpu: 0, memory: 0 });
    r.cpu += instance.resources.cpu ?? 0;
    r.memory += instance.resources.memory ?? 0;
  }
  const known = new Set(current.map((i) => i.containerId));
  const views = await Promise.all(
    active.map(async (machine): Promise<{ view: MachineView; orphans: World["orphans"] }> => {
      try {
        const [capacity, instances] = await Promise.all([participants.capacity(machine.id), participants.instances(machine.id, namespace)]);
        const orphans = instances.containers
          .filter((c) => !known.has(c.containerId))
          .map((c) => ({ machine: machine.id, containerId: c.containerId, name: c.name, deployId: c.deployId }));
        return { view: { machine, reachable: true, capacity }, orphans };
      } catch (error) {
        return { view: { machine, reachable: false, error: error instanceof Error ? error.message : String(error) }, orphans: [] };
      }
    }),
  );
  return {
    planInput: {
      baseCommitSeq: head?.seq ?? null,
      current,
      reservedElsewhere,
      machines: views.map((v) => v.view),
      regions: regionRoles(regions),
    },
    orphans: views.flatMap((v) => v.orphans),
    routes: [...routing.records.values()],
  };
}
