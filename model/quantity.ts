import { z } from "zod";

const MEMORY_UNITS: Record<string, number> = {
  // Docker and Compose read k, m, g (and kb, mb, gb) as powers of 1024; so do we.
  "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3,
};

/** Parses `128Mi`, `512m` (= 512 MiB, as Docker reads it), `1g`, `1048576` into bytes. */
export function parseMemory(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = MEMORY_UNITS[match[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

/** Memory as `"128Mi"` or bytes, normalized to bytes (at most 1 TiB). */
export const memorySchema = z.union([
  z.number().int().positive().max(1024 ** 4),
  z.string().transform((text, ctx) => {
    const bytes = parseMemory(text);
    if (bytes === undefined || bytes <= 0 || bytes > 1024 ** 4) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not a memory size like 128Mi, 512m, 1g` });
      return z.NEVER;
    }
    return bytes;
  }),
]);

/** CPUs as a number or numeric string (`0.5`, `"2"`), at most 512. */
export const cpuSchema = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/, "must be a number of CPUs").transform(Number)]).pipe(
  z.number().positive("must be more than 0 CPUs").max(512),
);
