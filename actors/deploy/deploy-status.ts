import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { deployPhaseSchema, type DeployPhase } from "../../model/commit.ts";
import type { ServiceExplanation } from "../../model/plan.ts";
import { readSubject } from "../store/read-subject.ts";

/** Appends a deploy phase record (Status) to `status.<ns>.deploy`. */
export async function recordDeployPhase(js: JetStreamClient, record: DeployPhase): Promise<void> {
  await js.publish(`status.${record.namespace}.deploy`, JSON.stringify(record));
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
  const msg = await jsm.streams.getMessage("STATUS", { last_by_subj: `status.${namespace}.placement` }).catch(() => null);
  return msg ? msg.json<PlacementRecord>() : undefined;
}

/** Every deploy phase record of a namespace, oldest first; unreadable ones are skipped. */
export async function readDeployPhases(js: JetStreamClient, jsm: JetStreamManager, namespace: string): Promise<DeployPhase[]> {
  const messages = await readSubject(js, jsm, "STATUS", `status.${namespace}.deploy`);
  return messages.flatMap((m) => {
    const parsed = deployPhaseSchema.safeParse(m.json);
    return parsed.success ? [parsed.data] : [];
  });
}
