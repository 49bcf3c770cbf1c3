import { z } from "zod";
import { InvalidArgumentError } from "./errors.ts";
import { blocksOverlap, parseIpv4Block } from "./ipv4.ts";
import { chooseWorkloadSubnet, parseWorkloadSubnet } from "./workload-subnet.ts";

/**
 * Which machine holds which workload subnet: one document (KV `mesh`, key `subnets`) changed only
 * by compare-and-set, so two machines claiming at once can never both get one — the loser reads
 * the table again and chooses again. A machine's membership record repeats its subnet for peers.
 */
export const subnetAllocationsSchema = z.strictObject({
  type: z.literal("subnets"),
  /** subnet (`10.210.3.0/24`) → machine id. */
  held: z.record(z.string(), z.string()),
});
export type SubnetAllocations = z.infer<typeof subnetAllocationsSchema>;

export const EMPTY_ALLOCATIONS: SubnetAllocations = { type: "subnets", held: {} };

/**
 * The table after `machineId` claims a subnet: the one it holds already, else `wanted` when free
 * (refused when another machine holds or overlaps it), else the first free one of the pool.
 * `changed` is false when it already held it (nothing to write).
 */
export function claimSubnet(table: SubnetAllocations, machineId: string, wanted?: string): { subnet: string; table: SubnetAllocations; changed: boolean } {
  const mine = Object.entries(table.held).find(([, holder]) => holder === machineId)?.[0];
  if (mine && (wanted === undefined || mine === wanted)) return { subnet: mine, table, changed: false };
  if (mine && wanted !== undefined) throw new InvalidArgumentError(`machine ${machineId} already holds workload subnet ${mine}, not ${wanted}`, { hint: "a machine keeps its subnet; its dockerd's bridge must use it" });
  if (wanted !== undefined) {
    const block = parseWorkloadSubnet(wanted);
    if (!block) throw new InvalidArgumentError(`${wanted} is not a workload subnet (an IPv4 block such as 10.210.3.0/24)`);
    const clash = Object.entries(table.held).find(([subnet]) => {
      const other = parseIpv4Block(subnet);
      return other !== undefined && blocksOverlap(other, block);
    });
    if (clash) throw new InvalidArgumentError(`workload subnet ${wanted} is taken: machine ${clash[1]} holds ${clash[0]}`, { hint: "ask for another one, or none (the first free one is chosen)" });
    return { subnet: wanted, table: { type: "subnets", held: { ...table.held, [wanted]: machineId } }, changed: true };
  }
  const subnet = chooseWorkloadSubnet(Object.keys(table.held));
  return { subnet, table: { type: "subnets", held: { ...table.held, [subnet]: machineId } }, changed: true };
}
