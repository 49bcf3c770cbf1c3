/** The lab: N machines as network namespaces on one computer (ARCHITECTURE.md, "The lab"). */
export { createLab, openLab, MAX_LAB_MACHINES, type Lab, type LabMachine, type LabOptions } from "./lab.ts";
export { destroyLab, labCommands, listNamespaces, sweepLabs } from "./lab-teardown.ts";
export { LAB_UNDERLAY, LAB_UNDERLAY_IFACE, labIdOf, labNames, labRoot } from "./lab-names.ts";
export { readLabState, labStateFile, type LabState } from "./lab-state.ts";
export { LAB_WIREGUARD_PORT, labHome, type LabHome } from "./lab-home.ts";
export { openLabCluster, startLabCluster, type LabCluster, type LabClusterMachine, type LabClusterOptions, type LabMachinePhases } from "./lab-cluster.ts";
