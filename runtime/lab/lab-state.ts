import { readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile, writeFileAtomic } from "../files.ts";

/** A process the lab started (dockerd, ployzd…): pid and start time, so a reused pid is never taken for it. */
export const labProcessSchema = z.object({ pid: z.number(), startTime: z.string(), what: z.string(), machine: z.number().optional() });
export type LabProcess = z.infer<typeof labProcessSchema>;

export const labMachineStateSchema = z.object({
  index: z.number(),
  namespace: z.string(),
  hostVeth: z.string(),
  wireguard: z.string(),
  underlayIp: z.string(),
  subnet: z.string(),
  dir: z.string(),
});
export type LabMachineState = z.infer<typeof labMachineStateSchema>;

/**
 * What a lab made, written before each thing is made (`lab.json` in its directory), so teardown
 * and a later sweep know everything to remove even when the owner was killed half-way.
 */
export const labStateSchema = z.object({
  id: z.string(),
  dir: z.string(),
  /** The process that owns the lab; a lab whose owner is gone is swept. Null: kept until destroyed (dev). */
  owner: labProcessSchema.nullable(),
  underlay: z.string(),
  underlayNamespace: z.string(),
  bridge: z.string(),
  /** Every network namespace made (or about to be made), the underlay's first. */
  namespaces: z.array(z.string()),
  machines: z.array(labMachineStateSchema),
  processes: z.array(labProcessSchema),
  /** Machines whose underlay link is down now (`partition`). */
  partitioned: z.array(z.number()),
});
export type LabState = z.infer<typeof labStateSchema>;

export const labStateFile = (dir: string) => join(dir, "lab.json");

export function writeLabState(state: LabState): void {
  writeFileAtomic(labStateFile(state.dir), JSON.stringify(state, null, 2), 0o600, { durable: false });
}

export function readLabState(dir: string): LabState | undefined {
  return readJsonFile(labStateFile(dir), labStateSchema, "lab state", "a lab directory holds lab.json; remove the directory if it is not a lab");
}

/** Every lab directory under `root` (whatever its state says). */
export function labDirs(root: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries.filter((e) => /^[0-9a-f]{6}$/.test(e)).map((e) => join(root, e));
}
