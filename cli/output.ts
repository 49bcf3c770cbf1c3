import type { DeployProgress } from "../model/deploy.ts";
import { PloyzError, toErrorPayload } from "../model/errors.ts";

/** Writes a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes lines on stdout. */
export function printLines(...lines: string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** One clear line on stderr (plus the hint), or the error as JSON on stdout with `--json`. */
export function printError(error: unknown, json: boolean): void {
  const payload = toErrorPayload(error);
  if (json) {
    printJson({ error: payload });
    return;
  }
  const hint = error instanceof PloyzError && error.hint ? `\n  hint: ${error.hint}` : "";
  process.stderr.write(`error: ${payload.message}${hint}\n`);
}

/** A plain-text table with left-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Live deploy progress on stderr (stdout stays the result); silent with --json. */
export function progressOn(args: { json: boolean }): { onProgress?: (event: DeployProgress) => void } {
  if (args.json) return {};
  return {
    onProgress: (event) => {
      if (event.type === "accepted") process.stderr.write(`deploy ${event.deployId} of ${event.namespace} accepted by ${event.machine}\n`);
      else if (event.type === "forwarded") process.stderr.write(`${event.via} forwards it to ${event.to}, the authority of namespace ${event.namespace}\n`);
      else if (event.state !== "ok" || event.phase === "commit") process.stderr.write(`  ${event.phase}: ${event.state}${event.reason ? ` — ${event.reason}` : ""}\n`);
    },
  };
}
