import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../../model/errors.ts";

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Numeric `--kebab-case` options for the keys of `defaults` (camelCase); a key whose default is
 * an integer takes only integers. Options meant for the
 * other benchmark are ignored, so `bench/index.ts` can pass one argument list to both.
 */
export function numberOptions<K extends string>(argv: string[], defaults: Record<K, number>): Record<K, number> {
  const flags = Object.fromEntries(Object.keys(defaults).map((key) => [kebab(key), { type: "string" as const }]));
  const { values } = parseArgs({ args: argv, options: flags, strict: false, allowPositionals: true });
  const result = { ...defaults };
  for (const key of Object.keys(defaults) as K[]) {
    const raw = values[kebab(key)];
    if (raw === undefined) continue;
    const value = Number(raw);
    const integer = Number.isInteger(defaults[key]);
    if (typeof raw !== "string" || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`--${kebab(key)} needs a positive ${integer ? "integer" : "number"}, not ${JSON.stringify(raw ?? "")}`);
    }
    result[key] = value;
  }
  return result;
}

function kebab(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The machine-readable last line: `BENCH {…}`. */
export function printBench(result: Record<string, unknown>): void {
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
}

/** Runs a benchmark's main: prints the error (and its hint) and exits non-zero on failure. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      const hint = error && typeof error === "object" && "hint" in error && error.hint ? ` (${String(error.hint)})` : "";
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}${hint}\n`);
      process.exit(1);
    },
  );
}
