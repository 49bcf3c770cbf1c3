import { randomBytes } from "node:crypto";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { InvalidStateError } from "../../model/errors.ts";
import { claimSubnet, EMPTY_ALLOCATIONS, subnetAllocationsSchema, type SubnetAllocations } from "../../model/subnet-allocations.ts";

/** KV `mesh`: the workload subnet table (key `subnets`) and the cluster's leaf secret (key `leaf-secret`). */

const isWrongLastSequence = (error: unknown) => error instanceof JetStreamApiError && error.code === 10071;
const SUBNETS = "subnets";
const LEAF_SECRET = "leaf-secret";

/**
 * Claims a workload subnet for `machineId` (model/subnet-allocations.ts) by compare-and-set on the
 * table: a concurrent claim makes the write fail, and the claim is made again on what won.
 */
export async function claimWorkloadSubnet(kv: KV, machineId: string, wanted?: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const entry = await kv.get(SUBNETS);
    let table: SubnetAllocations = EMPTY_ALLOCATIONS;
    if (entry?.operation === "PUT") {
      const parsed = subnetAllocationsSchema.safeParse(entry.json());
      if (!parsed.success) throw new InvalidStateError(`KV mesh, key subnets is not a subnet table (${parsed.error.issues[0]!.message})`, { hint: "ployzd will not overwrite a table it cannot read: restore it" });
      table = parsed.data;
    }
    const claim = claimSubnet(table, machineId, wanted);
    if (!claim.changed) return claim.subnet;
    try {
      if (entry?.operation === "PUT") await kv.update(SUBNETS, JSON.stringify(claim.table), entry.revision);
      else await kv.create(SUBNETS, JSON.stringify(claim.table));
      return claim.subnet;
    } catch (error) {
      if (!isWrongLastSequence(error) || attempt >= 10) throw error;
    }
  }
}

/** The cluster's leaf secret; the first machine to ask makes it (`proposed`, or a new random one). */
export async function leafSecret(kv: KV, proposed?: string): Promise<string> {
  const read = async () => {
    const entry = await kv.get(LEAF_SECRET);
    if (entry?.operation !== "PUT") return undefined;
    const secret = entry.string();
    if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) throw new InvalidStateError("KV mesh, key leaf-secret is malformed", { hint: "restore it: every leaf's password derives from it" });
    return secret;
  };
  const existing = await read();
  if (existing) return existing;
  try {
    await kv.create(LEAF_SECRET, proposed ?? randomBytes(32).toString("base64url"));
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
  }
  return (await read())!;
}
