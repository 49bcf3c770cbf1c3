import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { nodeStatusRecordSchema, type NodeStatusRecord } from "../../model/api.ts";
import { subjects } from "../../model/subjects.ts";

/** Appends a lifecycle fact about a node to the STATUS stream. */
export async function recordNodeStatus(js: JetStreamClient, record: NodeStatusRecord): Promise<void> {
  await js.publish(subjects.nodeStatus(record.machine), JSON.stringify(record));
}

/** The latest lifecycle fact of each machine that has one; unreadable records are skipped, a store that does not answer fails. */
export async function readNodeStatus(jsm: JetStreamManager, machineIds: readonly string[]): Promise<NodeStatusRecord[]> {
  const records = await Promise.all(
    machineIds.map(async (id) => {
      const msg = await jsm.streams.getMessage("STATUS", { last_by_subj: subjects.nodeStatus(id) });
      if (!msg) return undefined; // no message for that subject
      const parsed = nodeStatusRecordSchema.safeParse(msg.json());
      return parsed.success ? parsed.data : undefined;
    }),
  );
  return records.filter((r): r is NodeStatusRecord => r !== undefined);
}
