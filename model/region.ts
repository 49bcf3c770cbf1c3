import { z } from "zod";
import { nameSchema } from "./names.ts";

/** What a region is for: where new instances may land and which kind is preferred. */
export const REGION_ROLES = ["home_data", "compute", "draining", "disabled"] as const;
export const regionRoleSchema = z.enum(REGION_ROLES);
export type RegionRole = z.infer<typeof regionRoleSchema>;

/** A region's role (Intent), KV `regions`, key = region name. A region with no record is `compute`. */
export const regionRecordSchema = z
  .object({ name: nameSchema("region"), role: regionRoleSchema, updatedAt: z.string() })
  .strict();
export type RegionRecord = z.infer<typeof regionRecordSchema>;

export const DEFAULT_REGION_ROLE: RegionRole = "compute";

/** May a region receive new instances? */
export function acceptsNewInstances(role: RegionRole): boolean {
  return role === "home_data" || role === "compute";
}
