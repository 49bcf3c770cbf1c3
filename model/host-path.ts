import { z } from "zod";

/**
 * Paths on a machine, as bind mounts and the bind policy name them: absolute, and written one
 * way only, so that "is this path inside that directory" can be answered by comparing text.
 * `..` segments are refused (what they lead to depends on symlinks on the machine, not on the
 * text); double slashes, `.` segments and a trailing slash are normalised away.
 */

/** `/srv//app/./data/` → `/srv/app/data`; `/` stays `/`. Assumes an absolute path without `..`. */
export function normalizeHostPath(path: string): string {
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  return `/${segments.join("/")}`;
}

/** An absolute host path, normalised (see above). */
export const hostPathSchema = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^\//, "must be an absolute path")
  .refine((p) => !p.includes("\0"), "must not contain a NUL character")
  .refine((p) => !p.split("/").includes(".."), "must not contain ..")
  .transform(normalizeHostPath);

/** Whether `path` is `dir` or lies below it (`/srv/app-evil` is not below `/srv/app`). Both normalised. */
export function isWithin(path: string, dir: string): boolean {
  if (dir === "/") return true;
  return path === dir || path.startsWith(`${dir}/`);
}
