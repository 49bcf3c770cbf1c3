import type { z } from "zod";
import { ManifestError } from "./errors.ts";

/**
 * Turns validation problems into one ManifestError a person can act on: every problem as
 * `file: dotted.path: what is wrong`, with paths into the document they wrote.
 */

/** A path into a manifest document: object keys and array indices. */
export type DocumentPath = ReadonlyArray<PropertyKey>;

/** One problem with a manifest, at a path into the document. */
export interface ManifestIssue {
  path: DocumentPath;
  message: string;
}

/** How many problems one error lists; the rest are counted. */
export const MAX_REPORTED_ISSUES = 10;

type ZodIssue = z.core.$ZodIssue;

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;

/** `services.web.ports[0]`; keys that are not plain words are quoted: `services["../etc"]`. */
export function formatPath(path: DocumentPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && SIMPLE_KEY.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** One ManifestError for all issues: the first is the first line and gives `.path`. */
export function manifestError(fileName: string, issues: readonly ManifestIssue[], options: { hint?: string; cause?: unknown } = {}): ManifestError {
  const first = issues[0] ?? { path: [], message: "is not a valid manifest" };
  const lines = issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => issueLine(fileName, issue));
  if (lines.length === 0) lines.push(issueLine(fileName, first));
  const more = issues.length - MAX_REPORTED_ISSUES;
  if (more > 0) lines.push(`… and ${more} more ${more === 1 ? "problem" : "problems"}`);
  return new ManifestError(lines.join("\n"), { ...options, path: formatPath(first.path) });
}

function issueLine(fileName: string, issue: ManifestIssue): string {
  const at = formatPath(issue.path);
  return at ? `${fileName}: ${at}: ${issue.message}` : `${fileName}: ${issue.message}`;
}

/**
 * Readable issues from zod's: one per unknown key, record-key problems at the key, the telling
 * branch of a union. `input` is what was validated, so a message can say what was found.
 */
export function issuesFromZod(issues: readonly ZodIssue[], input: unknown): ManifestIssue[] {
  return issues.flatMap((issue) => describe(issue, [], input));
}

/** Validates `input` with `schema`, or throws a ManifestError naming every problem. */
export function parseManifestDocument<S extends z.ZodType>(schema: S, input: unknown, fileName: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw manifestError(fileName, issuesFromZod(parsed.error.issues, input), { cause: parsed.error });
}

function describe(issue: ZodIssue, prefix: readonly PropertyKey[], input: unknown): ManifestIssue[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path, message: `unknown key ${JSON.stringify(key)}` }));
    case "invalid_key":
    case "invalid_element":
      // The key itself is wrong (a bad service name): report the key's own message at the key.
      return issue.issues.flatMap((inner) => describe(inner, path, input)).map((inner) => ({ ...inner, path }));
    case "invalid_union": {
      if (issue.discriminator !== undefined && "options" in issue) {
        const options = (issue.options ?? []).map((option) => JSON.stringify(option)).join(", ");
        const found = valueAt(input, path);
        return [{ path, message: found === undefined ? `is required: one of ${options}` : `must be one of ${options}, not ${show(found)}` }];
      }
      // A branch that got past the type check says what is really wrong ("not a duration").
      const telling = issue.errors.find((branch) => !branch.every((i) => i.code === "invalid_type" && i.path.length === 0));
      if (telling) return telling.flatMap((inner) => describe(inner, path, input));
      const expected = [...new Set(issue.errors.flat().flatMap((i) => (i.code === "invalid_type" ? [i.expected] : [])))];
      return [{ path, message: mismatch(expected, valueAt(input, path)) }];
    }
    case "invalid_type":
      return [{ path, message: mismatch([issue.expected], valueAt(input, path)) }];
    case "invalid_value":
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, not ${show(valueAt(input, path))}` }];
    case "too_small":
      return [{ path, message: isDefaultMessage(issue.message) ? tooSmall(issue) : issue.message }];
    case "too_big":
      return [{ path, message: isDefaultMessage(issue.message) ? `must be at most ${String(issue.maximum)}${unit(issue.origin)}` : issue.message }];
    case "invalid_format":
      return [{ path, message: isDefaultMessage(issue.message) && issue.pattern ? `must match ${issue.pattern}` : issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

/** zod's built-in messages start like this; messages from our schemas never do. */
function isDefaultMessage(message: string): boolean {
  return /^(Too small|Too big|Invalid)/.test(message);
}

function tooSmall(issue: Extract<ZodIssue, { code: "too_small" }>): string {
  if ((issue.origin === "string" || issue.origin === "array") && Number(issue.minimum) === 1) return "must not be empty";
  return `must be at least ${String(issue.minimum)}${unit(issue.origin)}`;
}

function unit(origin: string): string {
  return origin === "string" ? " characters" : origin === "array" ? " items" : "";
}

function mismatch(expected: readonly string[], found: unknown): string {
  if (found === undefined) return "is required";
  return `expected ${expected.map(article).join(" or ")}, got ${show(found)}`;
}

function article(type: string): string {
  const name = type === "record" || type === "object" ? "mapping" : type === "array" ? "list" : type;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** What was found, briefly: `"abc"`, `5`, `a list`, `a mapping`, `null`. */
export function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** The value at `path` inside `doc`, or undefined. */
export function valueAt(doc: unknown, path: DocumentPath): unknown {
  let here = doc;
  for (const segment of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<PropertyKey, unknown>)[segment];
  }
  return here;
}
