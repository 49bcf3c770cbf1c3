/** Lab machines running the real ployzd: the runtime's lab home (runtime/lab/lab-home.ts), for tests. */
export { LAB_WIREGUARD_PORT, labHome, type LabHome } from "../../runtime/lab/index.ts";
