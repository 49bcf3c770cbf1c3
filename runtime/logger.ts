import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { pino, type Logger } from "pino";

export type { Logger };

/** The daemon's structured JSON log, appended to `file` (see `ployzctl dev logs`). */
export function createFileLogger(file: string, bindings: Record<string, unknown>): Logger {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const destination = pino.destination({ dest: file, append: true, sync: true, mode: 0o600 });
  return pino({ level: process.env.PLOYZ_LOG_LEVEL ?? "info", base: bindings, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
