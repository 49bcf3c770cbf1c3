import type { KV } from "@nats-io/kv";
import { namespaceRecordSchema, type NamespaceRecord } from "../../model/commit.ts";
import { compareText } from "../../model/compare.ts";
import { InvalidStateError } from "../../model/errors.ts";
import { DEFAULT_REGION_ROLE, regionRecordSchema, type RegionRecord, type RegionRole } from "../../model/region.ts";
import { fromStore } from "../store/store-errors.ts";

/** Every namespace record (removed ones included); unreadable ones are reported by key. */
export async function readNamespaces(namespaces: KV): Promise<{ namespaces: NamespaceRecord[]; invalid: string[] }> {
  const out: NamespaceRecord[] = [];
  const invalid: string[] = [];
  for (const { key, json } of await readAll(namespaces, "KV namespaces")) {
    const parsed = namespaceRecordSchema.safeParse(json);
    if (parsed.success) out.push(parsed.data);
    else invalid.push(key);
  }
  return { namespaces: out.sort((a, b) => compareText(a.name, b.name)), invalid };
}

/** Region roles; regions without a record are `compute`. An invalid record is refused, loudly. */
export async function readRegions(regions: KV): Promise<RegionRecord[]> {
  const out: RegionRecord[] = [];
  for (const { key, json } of await readAll(regions, "KV regions")) {
    const parsed = regionRecordSchema.safeParse(json);
    if (!parsed.success) throw new InvalidStateError(`region record ${key} in KV regions is invalid; refusing to plan on it`);
    out.push(parsed.data);
  }
  return out.sort((a, b) => compareText(a.name, b.name));
}

export function regionRoles(records: RegionRecord[]): Record<string, RegionRole> {
  return Object.fromEntries(records.map((r) => [r.name, r.role ?? DEFAULT_REGION_ROLE]));
}

/** Every live entry of a bucket as JSON (text that is not JSON becomes undefined, for the schema to refuse). */
async function readAll(kv: KV, what: string): Promise<Array<{ key: string; json: unknown }>> {
  return await fromStore(what, async () => {
    const out: Array<{ key: string; json: unknown }> = [];
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry?.operation !== "PUT") continue;
      let json: unknown;
      try {
        json = JSON.parse(entry.string());
      } catch {
        json = undefined; // refused by the schema, naming the key
      }
      out.push({ key, json });
    }
    return out;
  });
}
