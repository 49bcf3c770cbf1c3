/** Cuts `text` to `width` columns (ending in `…` when cut) and pads it to exactly `width`. */
export function fit(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length > width) return width === 1 ? "…" : `${text.slice(0, width - 1)}…`;
  return text.padEnd(width);
}

/** Cuts `text` to at most `width` columns, without padding. */
export function clip(text: string, width: number): string {
  return text.length > width ? fit(text, width) : text;
}

/** `HH:MM:SS` of a timestamp, in UTC (the same on every machine and in tests). */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
