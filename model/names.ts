import { z } from "zod";

/**
 * Names that end up in NATS subjects, KV keys, Docker labels and DNS labels: lowercase letters,
 * digits and inner dashes, 1–63 characters. No dots, wildcards, slashes or `..`.
 */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** zod schema for such a name; `what` names the kind of thing in the error message. */
export function nameSchema(what: string) {
  return z
    .string()
    .regex(NAME_PATTERN, `${what} must be 1–63 lowercase letters, digits or inner dashes`);
}

export const machineIdSchema = nameSchema("machine id");
export const regionNameSchema = nameSchema("region");

/** True when `value` is acceptable as a name. */
export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}
