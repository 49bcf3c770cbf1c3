import type { z } from "zod";
import { InvalidArgumentError } from "../../model/errors.ts";

/** Validates a request body, or throws InvalidArgumentError naming the verb and the bad field. */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown, verb: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidArgumentError(`${verb}: ${issue.path.join(".") || "request"}: ${issue.message}`);
  }
  return result.data;
}
