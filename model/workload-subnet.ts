import { InvalidArgumentError, SubnetPoolExhaustedError } from "./errors.ts";
import { addressInBlock, blockContains, blocksOverlap, formatIpv4Block, parseIpv4Block, PRIVATE_IPV4_BLOCKS, type Ipv4Block } from "./ipv4.ts";

/**
 * Each machine's containers live in a workload subnet of its own: an IPv4 /24 held by its workload
 * bridge (model/workload-bridge.ts: docker0 with `--bip`, or the `ployz` network ployzd makes) and
 * that its WireGuard peers route to it. The pool is a private /16 that
 * stays clear of Docker's default bridge (172.17.0.0/16) and of its default address pools
 * (172.17–31.x, 192.168.x), so 256 machines fit.
 */
export const DEFAULT_WORKLOAD_POOL = "10.210.0.0/16";

/** Prefix length of one machine's workload subnet. */
export const WORKLOAD_SUBNET_BITS = 24;

const DOCKER_DEFAULT_BRIDGE = parseIpv4Block("172.17.0.0/16")!;

/** The pool as a block; refused unless private, at most a /24 and clear of Docker's default bridge. */
export function parseWorkloadPool(pool: string): Ipv4Block {
  const block = parseIpv4Block(pool);
  if (!block) throw new InvalidArgumentError(`workload pool ${pool} is not an IPv4 block (a.b.c.d/n with no host bits)`);
  if (block.bits > WORKLOAD_SUBNET_BITS) throw new InvalidArgumentError(`workload pool ${pool} is smaller than one /${WORKLOAD_SUBNET_BITS}`);
  if (!PRIVATE_IPV4_BLOCKS.some((p) => blockContains(p, block))) throw new InvalidArgumentError(`workload pool ${pool} is not inside a private range (10/8, 172.16/12, 192.168/16)`);
  if (blocksOverlap(block, DOCKER_DEFAULT_BRIDGE)) throw new InvalidArgumentError(`workload pool ${pool} overlaps Docker's default bridge 172.17.0.0/16`);
  return block;
}

/**
 * The first /24 of the pool that overlaps none of `taken` (the subnets other members hold; any
 * that does not parse is ignored, as it cannot be routed either). Pure: the caller claims it by
 * compare-and-set on KV `machines` and chooses again if another machine won.
 */
export function chooseWorkloadSubnet(taken: readonly string[], pool: string = DEFAULT_WORKLOAD_POOL): string {
  const poolBlock = parseWorkloadPool(pool);
  const takenBlocks = taken.flatMap((t) => parseIpv4Block(t) ?? []);
  const count = 2 ** (WORKLOAD_SUBNET_BITS - poolBlock.bits);
  for (let i = 0; i < count; i++) {
    const candidate = { base: poolBlock.base + i * 2 ** (32 - WORKLOAD_SUBNET_BITS), bits: WORKLOAD_SUBNET_BITS };
    if (!takenBlocks.some((t) => blocksOverlap(t, candidate))) return formatIpv4Block(candidate);
  }
  throw new SubnetPoolExhaustedError(`every /${WORKLOAD_SUBNET_BITS} of the workload pool ${pool} is taken (${count} machines)`, {
    hint: "remove machines that left, or give the cluster a larger pool",
  });
}

/** A workload subnet as a block, or undefined if it is not one (`10.210.3.0/24`). */
export function parseWorkloadSubnet(subnet: string): Ipv4Block | undefined {
  const block = parseIpv4Block(subnet);
  return block && block.bits <= WORKLOAD_SUBNET_BITS && block.bits >= 8 ? block : undefined;
}

/** The subnet's gateway: its first host address, held by the machine's workload bridge (`10.210.3.1`). */
export function workloadGateway(subnet: string): string {
  const block = parseWorkloadSubnet(subnet);
  if (!block) throw new InvalidArgumentError(`${subnet} is not a workload subnet`);
  return addressInBlock(block, 1);
}

/** What dockerd's `--bip` takes for this subnet: the gateway with the prefix length (`10.210.3.1/24`). */
export function dockerBridgeIp(subnet: string): string {
  return `${workloadGateway(subnet)}/${parseWorkloadSubnet(subnet)!.bits}`;
}
