/** The lab: N machines as network namespaces on one computer (ARCHITECTURE.md, "The lab"). */
export { createLab, type Lab, type LabMachine, type LabOptions } from "./lab.ts";
export { destroyLab, labCommands, listNamespaces, sweepLabs } from "./lab-teardown.ts";
export { LAB_UNDERLAY, LAB_UNDERLAY_IFACE, labIdOf, labNames, labRoot } from "./lab-names.ts";
export { readLabState, labStateFile, type LabState } from "./lab-state.ts";
