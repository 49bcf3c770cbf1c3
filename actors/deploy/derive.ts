import type { Derived } from "../../machines/roll-forward.ts";
import type { StoredHead } from "../../model/commit.ts";
import { FencedError } from "../../model/errors.ts";
import { describeRollForward, planRollForward, type ContainerObservation, type RollForwardPlan } from "../../model/roll-forward.ts";
import type { Faults } from "../faults.ts";
import { readMachines } from "../store/machines.ts";
import { readLastCommitsRecord, readTip } from "./commits.ts";
import { settleClaims } from "./route-claims.ts";
import type { DeployStore } from "./deploy-store.ts";
import { publishRouting, readInstancesDoc, readNamespaceRecord, readNamespaceRouting, writeInstancesDoc, writeNamespaceRecord } from "./derived-store.ts";
import { readLease } from "./lease.ts";
import type { Participants } from "./participants.ts";

export interface DeriveDeps {
  store: DeployStore;
  participants: Participants;
  faults?: Faults;
}

/** What deriving found, beyond what the roll-forward statechart needs. */
export interface DeriveResult extends Derived {
  head: StoredHead | null;
  plan: RollForwardPlan | null;
  /** The deploy holding the namespace's lease now, if any. */
  leaseHolder: string | undefined;
}

/**
 * Rolls a namespace's head forward once: reads the head, the derived records and the lease,
 * asks every active machine for the namespace's containers, decides (model/roll-forward.ts) and
 * writes what differs — instance records, then routing records, then the namespace record, each
 * a compare-and-set that a newer head wins. Idempotent: run again, it writes nothing. `self` is
 * the deploy (or repair) running it: its own containers are never in-flight candidates of another.
 */
export async function deriveNamespace(deps: DeriveDeps, namespace: string, self: string): Promise<DeriveResult> {
  const { store, participants } = deps;
  // Every read at once: the head, what was derived from it, the lease, the members (then their containers).
  const [{ head, last }, lease, { machines }, instances, routing, record] = await Promise.all([
    readTip(store.jsm, namespace),
    readLease(store.leases, namespace),
    readMachines(store.machines),
    readInstancesDoc(store.instances, namespace),
    readNamespaceRouting(store.jsm, namespace),
    readNamespaceRecord(store.namespaces, namespace),
  ]);
  const leaseHolder = lease?.deployId;
  const inFlightDeploy = leaseHolder !== undefined && leaseHolder !== self ? leaseHolder : undefined;
  const active = machines.filter((m) => m.state === "active").map((m) => m.id);
  const observed = await Promise.all(
    active.map(async (machine): Promise<ContainerObservation> => {
      try {
        return { machine, reachable: true, containers: (await participants.instances(machine, namespace)).containers };
      } catch (error) {
        return { machine, reachable: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  // The fence of the deploy in flight (holding the lease, not yet committed): its claims are its own.
  const inFlightFence = inFlightDeploy !== undefined && last?.type === "fence" && last.deployId === inFlightDeploy ? last.seq : undefined;
  if (!head) {
    // Never committed: whatever runs or is claimed was by deploys that are over (or by the one in flight).
    const claimNotes = await settleClaims(store.claims, namespace, null, 0, inFlightFence);
    const leftovers = observed.flatMap((o) =>
      o.reachable ? o.containers.filter((c) => c.deployId !== inFlightDeploy).map((c) => ({ machine: o.machine, containerId: c.containerId, name: c.name, deployId: c.deployId, routed: false })) : [],
    );
    return { head, plan: null, leaseHolder, notes: claimNotes, leftovers, dead: [], routingSeq: 0, routingChanged: false, gateways: [] };
  }
  const plan = planRollForward({
    head,
    derived: { instances: instances.value, routing: routing.flatMap((r) => (r.record ? [r.record] : [])), invalidRouting: routing.filter((r) => !r.record).map((r) => r.service), namespace: record },
    observed,
    inFlightDeploy,
    at: new Date().toISOString(),
  });
  if (plan.supersededBy !== null) {
    throw new FencedError(`the roll-forward of commit ${head.seq} of ${namespace} stops: records of commit ${plan.supersededBy} are already in the store`, {
      hint: "a newer commit exists; its roll-forward is the one that counts",
    });
  }

  if (plan.instances) {
    await writeInstancesDoc(store.instances, plan.instances);
    deps.faults?.hit("rollforward.after-instances");
  }
  // Hit whether or not this roll-forward wrote the instance records (the namespace's reconciler may have, first).
  deps.faults?.hit("rollforward.before-routing");
  const seqOf = new Map(routing.map((r) => [r.service, r.seq]));
  let routingSeq = Math.max(0, ...routing.map((r) => r.seq));
  for (const r of plan.routing) {
    routingSeq = Math.max(routingSeq, await publishRouting(store.js, store.jsm, r, seqOf.get(r.service) ?? 0));
    deps.faults?.hit("rollforward.after-routing-record");
  }
  // Ownership follows what the head serves. The tip is read again first: a newer commit stops a
  // writer of an older head here; a deploy that fenced meanwhile may be claiming: leave its claims alone.
  const now = await readLastCommitsRecord(store.jsm, namespace);
  if (now && now.seq !== last?.seq && now.type !== "fence") {
    throw new FencedError(`the roll-forward of commit ${head.seq} of ${namespace} stops: commit ${now.seq} landed meanwhile`, { hint: "a newer commit exists; its roll-forward is the one that counts" });
  }
  const claimNotes =
    now && now.seq !== last?.seq
      ? [`route claims left to deploy ${now.deployId}, which fenced the namespace meanwhile`]
      : await settleClaims(store.claims, namespace, head.type === "commit" ? head.spec : null, head.seq, inFlightFence);
  if (plan.namespaceRecord) await writeNamespaceRecord(store.namespaces, plan.namespaceRecord);

  const invalid = routing.filter((r) => !r.record).map((r) => `routing record ${r.seq} of ${namespace}/${r.service} did not parse (${r.invalid}); rewritten from commit ${head.seq}`);
  const writes = describeRollForward({ ...plan, leftovers: [], dead: [] });
  return {
    head,
    plan,
    leaseHolder,
    notes: [...invalid, ...writes, ...claimNotes],
    leftovers: plan.leftovers,
    dead: plan.dead,
    routingSeq,
    routingChanged: plan.routing.length > 0,
    gateways: observed.filter((o) => o.reachable).map((o) => o.machine),
  };
}
