import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { deployPhaseSchema, reconcileRecordSchema, type DeployPhase, type ReconcileRecord } from "../../model/commit.ts";
import type { ServiceExplanation } from "../../model/plan.ts";
import { readLastMessage, readSubject } from "../store/read-subject.ts";

/** Appends a deploy phase record (Status) to `status.<ns>.deploy`. */
export async function recordDeployPhase(js: JetStreamClient, record: DeployPhase): Promise<void> {
  await js.publish(`status.${record.namespace}.deploy`, JSON.stringify(record));
}

/** Appends what a reconciler did (Status) to `status.<ns>.reconcile`. */
export async function recordReconcile(js: JetStreamClient, record: ReconcileRecord): Promise<void> {
  await js.publish(`status.${record.namespace}.reconcile`, JSON.stringify(reconcileRecordSchema.parse(record)));
}

/** Every reconcile record of a namespace still kept, oldest first. */
export async function readReconciles(js: JetStreamClient, jsm: JetStreamManager, namespace: string): Promise<ReconcileRecord[]> {
  const messages = await readSubject(js, jsm, "STATUS", `status.${namespace}.reconcile`);
  return messages.flatMap((m) => {
    const parsed = reconcileRecordSchema.safeParse(m.json);
    return parsed.success ? [parsed.data] : [];
  });
}

/** The placement explanation of a deploy (Status), `status.<ns>.placement`: why each instance is where it is. */
export interface PlacementRecord {
  type: "placement";
  namespace: string;
  deployId: string;
  commitSeq: number | null;
  at: string;
  explanations: ServiceExplanation[];
}

export async function recordPlacement(js: JetStreamClient, record: PlacementRecord): Promise<void> {
  await js.publish(`status.${record.namespace}.placement`, JSON.stringify(record));
}

/** The latest placement record of a namespace, if any. */
export async function readPlacement(jsm: JetStreamManager, namespace: string): Promise<PlacementRecord | undefined> {
  const msg = await readLastMessage(jsm, "STATUS", `status.${namespace}.placement`);
  return msg ? (msg.json as PlacementRecord) : undefined;
}

/** Every deploy phase record of a namespace, oldest first; unreadable ones are skipped. */
export async function readDeployPhases(js: JetStreamClient, jsm: JetStreamManager, namespace: string): Promise<DeployPhase[]> {
  const messages = await readSubject(js, jsm, "STATUS", `status.${namespace}.deploy`);
  return messages.flatMap((m) => {
    const parsed = deployPhaseSchema.safeParse(m.json);
    return parsed.success ? [parsed.data] : [];
  });
}
