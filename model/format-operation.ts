import type { Operation, Plan } from "./plan.ts";

/**
 * Operations and plans as the lines `deploy --preview` prints: exactly what apply will do, one
 * operation a line, with its reason.
 */

/** `create web#0 rev 1a2b3c4d5e6f on m1 — compute region preferred for stateless, most free memory (3 GiB)`. */
export function formatOperation(op: Operation): string {
  const what = `${op.type} ${op.service}#${op.slot} rev ${op.revision} on ${op.machine}`;
  return op.type === "keep" ? what : `${what} — ${op.reason}`;
}

/** A header (hash, namespace, base commit, counts) followed by one line per operation, in apply order. */
export function formatPlan(plan: Plan): string[] {
  const count = (type: Operation["type"]) => plan.operations.filter((op) => op.type === type).length;
  const base = plan.baseCommitSeq === null ? "first deploy" : `base commit ${plan.baseCommitSeq}`;
  const header = `plan ${plan.hash} for ${plan.namespace}, ${base}: ${count("create")} to create, ${count("remove")} to remove, ${count("keep")} to keep`;
  return [header, ...plan.operations.map(formatOperation)];
}
