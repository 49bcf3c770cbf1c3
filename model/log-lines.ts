import { z } from "zod";

/**
 * Log lines of many instances on many machines, merged by time, each shown once.
 *
 * Docker prefixes each line with its RFC 3339 time in nanoseconds (with trailing zeros cut);
 * `logTime` makes that a fixed-width string, so times compare as strings. A reader keeps one
 * cursor per container: the time of the last line it showed and how many lines of exactly that
 * time it showed, so asking "since that time" again (Docker's `since` is inclusive) drops exactly
 * the lines already seen: no repeats, no gaps.
 */

/** Bounds of one answer of one machine: lines, bytes of text (well under NATS's 1 MiB payload), containers. */
export const LOGS_MAX_LINES = 1_000;
export const LOGS_MAX_BYTES = 256 * 1024;
export const LOGS_MAX_CONTAINERS = 64;

/** A time as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (nine digits of fraction): sortable as text. */
export type LogTime = string;

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** Docker's time (RFC 3339, any fraction up to nanoseconds, UTC) as a LogTime; undefined if it is not one. */
export function logTime(text: string): LogTime | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  return `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}Z`;
}

/** A LogTime from unix milliseconds. */
export function logTimeOfMs(ms: number): LogTime {
  return logTime(new Date(ms).toISOString())!;
}

/** A LogTime as Docker's `since`/`until` take it: unix seconds with nine digits of fraction. */
export function dockerTimestamp(time: LogTime): string {
  const seconds = Math.floor(Date.parse(`${time.slice(0, 19)}Z`) / 1000);
  return `${seconds}.${time.slice(20, 29)}`;
}

export const logTimeSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/, "a time like 2026-12-01T12:00:00.000000000Z");

/** Where a reader of one container stands: the last time shown, and how many lines of that time it showed. */
export const logCursorSchema = z.object({ time: logTimeSchema, shown: z.number().int().nonnegative() });
export type LogCursor = z.infer<typeof logCursorSchema>;

export const logLineSchema = z.object({ time: logTimeSchema, stream: z.enum(["stdout", "stderr"]), text: z.string() });
export type LogLine = z.infer<typeof logLineSchema>;

/** One line of `docker logs --timestamps` split into its time and text; a line without a time keeps `fallback`. */
export function splitTimestamp(line: string, fallback: LogTime): { time: LogTime; text: string } {
  const space = line.indexOf(" ");
  const time = space > 0 ? logTime(line.slice(0, space)) : undefined;
  return time ? { time, text: line.slice(space + 1) } : { time: fallback, text: line };
}

/** The lines after `cursor` (lines given oldest first, as Docker answers `since: cursor.time`). */
export function afterCursor<T extends { time: LogTime }>(lines: readonly T[], cursor: LogCursor | undefined): T[] {
  if (!cursor) return [...lines];
  let skip = cursor.shown;
  return lines.filter((line) => {
    if (line.time < cursor.time) return false;
    if (line.time === cursor.time && skip > 0) {
      skip--;
      return false;
    }
    return true;
  });
}

/** The cursor after showing `lines` (oldest first) from `cursor` on. */
export function advanceCursor(cursor: LogCursor | undefined, lines: readonly { time: LogTime }[]): LogCursor | undefined {
  let next = cursor;
  for (const line of lines) next = next && next.time === line.time ? { time: line.time, shown: next.shown + 1 } : { time: line.time, shown: 1 };
  return next;
}

/** What one container gave in one round: new lines (after its cursor, oldest first), and whether it had more than a round holds. */
export interface SourceBatch<L extends { time: LogTime }> {
  key: string;
  lines: readonly L[];
  /** It was cut at the round's bound: lines later than its last may exist and were not read. */
  truncated: boolean;
}

/**
 * One round of a merge: every source's new lines in time order, up to the point every source is
 * known to be complete (the earliest last line of a source that was cut). Lines after that point
 * are left for the next round, which reads them again from the cursor — so a chatty source
 * cannot push the others' lines out of order, and nothing is held in memory between rounds.
 */
export function mergeRound<L extends { time: LogTime }>(batches: readonly SourceBatch<L>[]): { lines: Array<L & { key: string }>; shown: Map<string, L[]> } {
  const cut = batches.filter((b) => b.truncated && b.lines.length > 0).map((b) => b.lines.at(-1)!.time);
  const boundary = cut.length ? cut.reduce((a, b) => (a < b ? a : b)) : undefined;
  const shown = new Map<string, L[]>();
  const lines: Array<L & { key: string }> = [];
  for (const batch of batches) {
    const taken = boundary === undefined ? [...batch.lines] : batch.lines.filter((l) => l.time <= boundary);
    shown.set(batch.key, taken);
    for (const line of taken) lines.push({ ...line, key: batch.key });
  }
  // stable: lines of the same time keep their source's order
  lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return { lines, shown };
}
