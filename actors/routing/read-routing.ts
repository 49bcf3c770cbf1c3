import type { JetStreamManager } from "@nats-io/jetstream";
import { routingRecordSchema, type RoutingRecord } from "../../model/routing.ts";

/** The last routing record of every service of one namespace (deleted ones included). */
export async function readNamespaceRouting(jsm: JetStreamManager, namespace: string): Promise<RoutingRecord[]> {
  const info = await jsm.streams.info("ROUTING", { subjects_filter: `routing.${namespace}.>` });
  const subjects = Object.keys(info.state.subjects ?? {}).sort();
  const out: RoutingRecord[] = [];
  for (const subject of subjects) {
    const msg = await jsm.streams.getMessage("ROUTING", { last_by_subj: subject }).catch(() => null);
    const parsed = msg ? routingRecordSchema.safeParse(msg.json()) : undefined;
    if (parsed?.success) out.push(parsed.data);
  }
  return out;
}
