import { z } from "zod";

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `2s`, `1m30s`, `1h`, `7d` (Compose style, plus days) into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(match[1]) * UNITS[match[2]!]!;
  return Math.round(total);
}

/** A duration given as `"2s"` or a number of milliseconds, normalized to milliseconds. */
export const durationSchema = z.union([
  z.number().int().nonnegative().max(86_400_000),
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms > 86_400_000) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not a duration like 500ms, 2s, 1m30s` });
      return z.NEVER;
    }
    return ms;
  }),
]);
