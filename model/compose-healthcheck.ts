import { ConversionLog, type Doc, type Path } from "./compose-conversion.ts";
import { show } from "./manifest-errors.ts";

/**
 * Compose's `healthcheck:` as two things: the readiness probe a deploy waits for (an exec probe,
 * Docker's timing defaults) and the container's own Docker healthcheck, which for `NONE` and
 * `disable: true` turns off one the image declares.
 */

/** Docker's defaults when a healthcheck leaves them out; Ployz's own are much shorter. */
const HEALTHCHECK_DEFAULTS = { interval: 30_000, timeout: 30_000, retries: 3, start_period: 0 };

/** The readiness probe a deploy waits for, and the container's own Docker healthcheck. */
export function healthcheckFields(raw: unknown, service: Path, log: ConversionLog): Doc {
  const at = [...service, "healthcheck"];
  const check = log.mapping(raw, at, "a mapping");
  if (!check) return {};
  log.checkSection(check, at, "healthcheck");
  if (check.disable !== undefined && typeof check.disable !== "boolean") return log.fail([...at, "disable"], `expected true or false, got ${show(check.disable)}`) ?? {};
  if (check.disable === true) {
    log.from([...service, "healthcheck"], [...at, "disable"]);
    return { healthcheck: { test: ["NONE"] } };
  }
  const command = healthcheckCommand(check.test, [...at, "test"], log);
  if (!command) return {};
  if (command === "NONE") {
    log.from([...service, "healthcheck"], [...at, "test"]);
    return { healthcheck: { test: ["NONE"] } };
  }
  const readinessAt = [...service, "readiness"];
  log.from(readinessAt, at);
  log.from([...readinessAt, "command"], [...at, "test"]);
  log.from([...readinessAt, "startPeriod"], [...at, "start_period"]);
  log.from([...service, "healthcheck"], at);
  log.from([...service, "healthcheck", "test"], [...at, "test"]);
  log.from([...service, "healthcheck", "startPeriod"], [...at, "start_period"]);
  const given = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });
  return {
    readiness: {
      type: "exec",
      command: command.exec,
      interval: check.interval ?? HEALTHCHECK_DEFAULTS.interval,
      timeout: check.timeout ?? HEALTHCHECK_DEFAULTS.timeout,
      retries: check.retries ?? HEALTHCHECK_DEFAULTS.retries,
      startPeriod: check.start_period ?? HEALTHCHECK_DEFAULTS.start_period,
    },
    healthcheck: { test: command.docker, ...given("interval", check.interval), ...given("timeout", check.timeout), ...given("retries", check.retries), ...given("startPeriod", check.start_period) },
  };
}

/** A healthcheck test as an exec command and in Docker's form; "NONE"; undefined for errors (recorded). */
function healthcheckCommand(test: unknown, at: Path, log: ConversionLog): { exec: string[]; docker: string[] } | "NONE" | undefined {
  if (test === undefined) return log.fail(at, "is required: Ployz cannot adjust an image's own HEALTHCHECK; write the test here");
  if (typeof test === "string") return test.trim() ? { exec: ["/bin/sh", "-c", test], docker: ["CMD-SHELL", test] } : log.fail(at, "must not be empty");
  if (!Array.isArray(test) || test.length === 0) return log.fail(at, `expected a command string or a list starting with "CMD", "CMD-SHELL" or "NONE", got ${show(test)}`);
  const bad = test.findIndex((word) => typeof word !== "string");
  if (bad >= 0) return log.fail([...at, bad], `expected a string, got ${show(test[bad])}`);
  const [kind, ...args] = test as string[];
  if (kind === "NONE" && args.length === 0) return "NONE";
  if (kind === "CMD" && args.length > 0) return { exec: args, docker: ["CMD", ...args] };
  if (kind === "CMD-SHELL" && args.length === 1) return { exec: ["/bin/sh", "-c", args[0]!], docker: ["CMD-SHELL", args[0]!] };
  if (kind === "CMD" || kind === "CMD-SHELL" || kind === "NONE") {
    return log.fail(at, `"${kind}" takes ${kind === "CMD" ? "a command after it" : kind === "NONE" ? "nothing after it" : "exactly one shell command string"}`);
  }
  return log.fail([...at, 0], `must be "CMD", "CMD-SHELL" or "NONE", not ${show(kind)}`);
}
