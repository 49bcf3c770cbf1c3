import { describe, expect, it } from "vitest";
import { WorkloadNetworkConflictError } from "../../model/errors.ts";
import { decideWorkloadBridge, DOCKER_DEFAULT_BRIDGE, PLOYZ_WORKLOAD_BRIDGE, type ObservedNetwork } from "../../model/workload-bridge.ts";

const SUBNET = "10.210.3.0/24";
const docker0 = (subnet: string): ObservedNetwork => ({ name: "bridge", id: "b".repeat(64), subnets: [subnet], bridgeName: "docker0" });
const ployz = (subnet: string, bridgeName: string | null = "ployzbr0"): ObservedNetwork => ({ name: "ployz", id: "0123456789abcdef".repeat(4), subnets: [subnet], ...(bridgeName ? { bridgeName } : {}) });

describe("decideWorkloadBridge: the bridge that holds this machine's subnet", () => {
  it("without a mesh is Docker's default bridge, whatever the networks are", () => {
    expect(decideWorkloadBridge(undefined, docker0("172.17.0.0/16"), undefined)).toMatchObject({ action: "use", bridge: DOCKER_DEFAULT_BRIDGE });
    expect(decideWorkloadBridge(undefined, docker0("172.17.0.0/16"), ployz("10.99.0.0/24"))).toMatchObject({ action: "use", bridge: DOCKER_DEFAULT_BRIDGE });
  });

  it("is docker0 when dockerd's bridge holds the subnet (--bip, daemon.json): no network is made", () => {
    expect(decideWorkloadBridge(SUBNET, docker0(SUBNET), undefined)).toMatchObject({ action: "use", bridge: { interface: "docker0", network: "bridge" } });
    // A `ployz` network on another subnet does not matter then: docker0 holds ours.
    expect(decideWorkloadBridge(SUBNET, docker0(SUBNET), ployz("10.210.9.0/24"))).toMatchObject({ action: "use", bridge: { interface: "docker0" } });
    // dockerd's `bridge` option names another interface.
    expect(decideWorkloadBridge(SUBNET, { ...docker0(SUBNET), bridgeName: "br-lan" }, undefined)).toMatchObject({ bridge: { interface: "br-lan", network: "bridge" } });
  });

  it("creates the ployz network on the subnet, gateway .1, when docker0 is elsewhere and there is none", () => {
    expect(decideWorkloadBridge(SUBNET, docker0("172.17.0.0/16"), undefined)).toEqual({ action: "create", bridge: PLOYZ_WORKLOAD_BRIDGE, subnet: SUBNET, gateway: "10.210.3.1" });
    expect(decideWorkloadBridge(SUBNET, undefined, undefined)).toMatchObject({ action: "create" });
    expect(PLOYZ_WORKLOAD_BRIDGE).toEqual({ interface: "ployzbr0", network: "ployz" });
  });

  it("adopts a ployz network that is on the subnet (a restart), by its interface name or Docker's br-<id12>", () => {
    expect(decideWorkloadBridge(SUBNET, docker0("172.17.0.0/16"), ployz(SUBNET))).toMatchObject({ action: "use", bridge: PLOYZ_WORKLOAD_BRIDGE });
    expect(decideWorkloadBridge(SUBNET, docker0("172.17.0.0/16"), ployz(SUBNET, null))).toMatchObject({ action: "use", bridge: { interface: "br-0123456789ab", network: "ployz" } });
  });

  it("refuses loudly when the ployz network exists on another subnet", () => {
    const decide = () => decideWorkloadBridge(SUBNET, docker0("172.17.0.0/16"), ployz("10.210.9.0/24"));
    expect(decide).toThrow(WorkloadNetworkConflictError);
    expect(decide).toThrow(/ployz exists with subnet 10\.210\.9\.0\/24, not this machine's workload subnet 10\.210\.3\.0\/24/);
    try {
      decide();
    } catch (error) {
      expect((error as WorkloadNetworkConflictError).hint).toMatch(/docker network rm ployz.*--bip 10\.210\.3\.1\/24/);
    }
  });
});
