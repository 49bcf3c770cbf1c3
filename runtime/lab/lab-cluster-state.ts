import { join } from "node:path";
import { z } from "zod";
import { REGION_ROLES } from "../../model/region.ts";
import { readJsonFile, writeFileAtomic } from "../files.ts";

/**
 * What a lab cluster is on top of its lab (`lab-cluster.json` beside `lab.json`): which lab
 * machine runs which Ployz machine, in which region. Written as each machine is added, so a later
 * `ployzctl dev …` finds the machines by name.
 */
export const labClusterStateSchema = z
  .object({
    /** Machine n's id (and its context's name, for `dev`) is `<prefix><separator><n>` (separator `-` when absent). */
    prefix: z.string(),
    separator: z.string().optional(),
    /** More `ployzd run` options for every machine (also one added later). */
    run: z.array(z.string()).optional(),
    regions: z.array(z.object({ name: z.string(), role: z.enum(REGION_ROLES).optional() })),
    machines: z.array(z.object({ index: z.number(), name: z.string(), region: z.string() })),
  })
  .strict();
export type LabClusterState = z.infer<typeof labClusterStateSchema>;

export const labClusterStateFile = (labDir: string) => join(labDir, "lab-cluster.json");

export function writeLabClusterState(labDir: string, state: LabClusterState): void {
  writeFileAtomic(labClusterStateFile(labDir), JSON.stringify(state, null, 2), 0o600, { durable: false });
}

export function readLabClusterState(labDir: string): LabClusterState | undefined {
  return readJsonFile(labClusterStateFile(labDir), labClusterStateSchema, "lab cluster state", "the lab was not made by a lab cluster; remove it with `ployzctl dev down`");
}
