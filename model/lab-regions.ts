import { InvalidArgumentError } from "./errors.ts";
import { isValidName } from "./names.ts";
import { REGION_ROLES, type RegionRole } from "./region.ts";

/** One region of a lab cluster and, when given, the role to set for it. */
export interface LabRegion {
  name: string;
  role?: RegionRole;
}

/** The region lab machines get when `--regions` names none. */
export const DEFAULT_LAB_REGION = "lab";

/**
 * `eu:home_data,us:compute` (or just `eu,us`): the lab's regions in order, each with an optional
 * role. A bad name, an unknown role or a region named twice is refused with the part at fault.
 */
export function parseLabRegions(spec: string | undefined): LabRegion[] {
  if (spec === undefined || spec.trim() === "") return [];
  const regions: LabRegion[] = [];
  for (const part of spec.split(",").map((p) => p.trim())) {
    const [name = "", role, extra] = part.split(":");
    if (extra !== undefined || !isValidName(name)) {
      throw new InvalidArgumentError(`--regions: "${part}" is not REGION or REGION:ROLE`, { hint: "e.g. --regions eu:home_data,us:compute" });
    }
    if (role !== undefined && !(REGION_ROLES as readonly string[]).includes(role)) {
      throw new InvalidArgumentError(`--regions: "${role}" is not a region role (${REGION_ROLES.join(", ")})`);
    }
    if (regions.some((r) => r.name === name)) throw new InvalidArgumentError(`--regions: region ${name} is named twice`);
    regions.push(role === undefined ? { name } : { name, role: role as RegionRole });
  }
  return regions;
}

/** The region of lab machine n (1-based): the regions in turn, so N machines spread over them. */
export function labRegionOf(n: number, regions: readonly LabRegion[]): string {
  return regions.length === 0 ? DEFAULT_LAB_REGION : regions[(n - 1) % regions.length]!.name;
}
