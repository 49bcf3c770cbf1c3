import { WorkloadNetworkConflictError } from "./errors.ts";
import { formatIpv4Block, parseIpv4Block } from "./ipv4.ts";
import { dockerBridgeIp, workloadGateway } from "./workload-subnet.ts";

/**
 * The workload bridge: the Docker bridge that holds this machine's workload subnet, which its
 * containers join, where the cluster DNS listens and which the WireGuard forwarding rules name.
 * One rule: the bridge that holds the subnet. When dockerd's own `docker0` holds it (`--bip`, or
 * `bip` in daemon.json) that is the one; otherwise ployzd makes a bridge network of its own
 * (`ployz`, interface `ployzbr0`) on the subnet, leaving dockerd's configuration alone. A machine
 * without a mesh keeps Docker's default bridge, whatever its subnet.
 */
export interface WorkloadBridge {
  /** The Linux bridge interface (`docker0`, `ployzbr0`). */
  interface: string;
  /** The Docker network it carries; `bridge` is Docker's default, which containers join untold. */
  network: string;
}

/** Docker's default bridge network and its interface. */
export const DOCKER_DEFAULT_BRIDGE: WorkloadBridge = { interface: "docker0", network: "bridge" };

/**
 * The network ployzd makes when docker0 is not on the workload subnet. Not `ployz0`: that is the
 * WireGuard interface's default name.
 */
export const PLOYZ_WORKLOAD_BRIDGE: WorkloadBridge = { interface: "ployzbr0", network: "ployz" };

/** The Docker option that names a bridge network's interface. */
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** A Docker network as inspected: what the decision needs of it. */
export interface ObservedNetwork {
  name: string;
  id: string;
  /** Its IPv4 subnets (IPAM config). */
  subnets: readonly string[];
  /** `com.docker.network.bridge.name`, when set. */
  bridgeName?: string;
}

/** What to do at start: use a bridge that exists, or create the `ployz` network. */
export type WorkloadBridgeDecision =
  | { action: "use"; bridge: WorkloadBridge; why: string }
  | { action: "create"; bridge: WorkloadBridge; subnet: string; gateway: string };

/**
 * Which bridge is the workload bridge. `subnet` is the machine's workload subnet when it is on a
 * mesh (undefined without one: Docker's default bridge, as before the mesh); `defaultBridge` and
 * `ployz` are Docker's `bridge` and `ployz` networks as inspected now (undefined when absent).
 * Throws WorkloadNetworkConflictError when neither holds the subnet and `ployz` exists on another.
 */
export function decideWorkloadBridge(subnet: string | undefined, defaultBridge: ObservedNetwork | undefined, ployz: ObservedNetwork | undefined): WorkloadBridgeDecision {
  if (subnet === undefined) return { action: "use", bridge: DOCKER_DEFAULT_BRIDGE, why: "no mesh: Docker's default bridge" };
  const wanted = normalBlock(subnet);
  if (defaultBridge && defaultBridge.subnets.some((s) => normalBlock(s) === wanted)) {
    return { action: "use", bridge: { interface: defaultBridge.bridgeName ?? DOCKER_DEFAULT_BRIDGE.interface, network: defaultBridge.name }, why: `dockerd's default bridge holds the workload subnet ${wanted}` };
  }
  if (!ployz) return { action: "create", bridge: PLOYZ_WORKLOAD_BRIDGE, subnet: wanted, gateway: workloadGateway(wanted) };
  if (ployz.subnets.some((s) => normalBlock(s) === wanted)) {
    // Docker names a bridge network's interface br-<id12> unless told.
    return { action: "use", bridge: { interface: ployz.bridgeName ?? `br-${ployz.id.slice(0, 12)}`, network: ployz.name }, why: `the Docker network ${ployz.name} holds the workload subnet ${wanted} (adopted)` };
  }
  throw new WorkloadNetworkConflictError(
    `the Docker network ${ployz.name} exists with subnet ${ployz.subnets.join(", ") || "(none)"}, not this machine's workload subnet ${wanted}, and dockerd's default bridge is not on it either`,
    { hint: `remove it (docker network rm ${ployz.name}, once no container uses it) for ployzd to make it again on ${wanted}, or start dockerd with --bip ${dockerBridgeIp(wanted)}` },
  );
}

/** `10.210.3.0/24` as Docker and we both write it; a subnet that does not parse stays as given (it matches nothing). */
function normalBlock(subnet: string): string {
  const block = parseIpv4Block(subnet);
  return block ? formatIpv4Block(block) : subnet;
}
