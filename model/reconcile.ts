import type { StoredHead } from "./commit.ts";
import type { DeployOperation } from "./deploy.ts";
import { instanceLabel } from "./placement.ts";
import type { RollForwardPlan } from "./roll-forward.ts";

/** A repair the reconciler asks a coordinator for, and why (the commit's `reason` if it commits). */
export interface Repair {
  operation: DeployOperation;
  reason: string;
}

/**
 * What a namespace needs beyond its derived records, decided from its head and a roll-forward
 * plan: containers the head does not name must go (only a lease holder may remove them, after
 * fencing out whoever started them), and dead instances whose restart policy wants them back
 * must be replaced. Both are one operation: a deploy of the head's own spec (or, after
 * `namespace rm` or before any commit, a removal, which commits nothing new), which settles the
 * namespace and replaces the dead. None while another deploy holds the lease: it settles the
 * namespace itself.
 */
export function decideRepair(head: StoredHead | null, plan: Pick<RollForwardPlan, "dead" | "leftovers">, leaseHolder: string | undefined): Repair | null {
  if (leaseHolder !== undefined) return null;
  const why: string[] = [];
  const replace = plan.dead.filter((d) => d.replace);
  if (replace.length > 0) why.push(replace.map((d) => `${instanceLabel(d.service, d.slot)} on ${d.machine} ${d.seen}`).join(", "));
  if (plan.leftovers.length > 0) why.push(`${plan.leftovers.length} container${plan.leftovers.length === 1 ? "" : "s"} the head does not name (${plan.leftovers.map((l) => l.name).join(", ")})`);
  if (why.length === 0) return null;
  const reason = `reconcile: ${why.join("; ")}`;
  return head?.type === "commit" ? { operation: { kind: "deploy", spec: head.spec, reason, ...(head.images ? { images: head.images } : {}) }, reason } : { operation: { kind: "remove", reason }, reason };
}
