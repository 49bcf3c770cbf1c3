import { interpolate, InterpolationError, type Lookup } from "./compose-interpolation.ts";

/**
 * `.env` and `env_file:` files as Compose reads them: `KEY=VALUE` lines, `export ` allowed in
 * front, `#` comments (after whitespace on a value line), values unquoted (trimmed,
 * interpolated), in double quotes (escapes \n \r \t \\ \" \$, interpolated, may span lines) or
 * in single quotes (literal, may span lines). A variable used in a value is looked up among the
 * ones the file set before it, then in `lookup`.
 */

/** A problem in an env file, with its line. */
export class EnvFileError extends Error {
  override name = "EnvFileError";
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", '"': '"', $: "$$" };

/** The variables of an env file, in order; throws EnvFileError at the first bad line. */
export function parseEnvFile(text: string, lookup: Lookup): Record<string, string> {
  const vars: Record<string, string> = {};
  const scoped: Lookup = (name) => (Object.hasOwn(vars, name) ? vars[name] : lookup(name));
  const source = text.replace(/^\uFEFF/, "").replaceAll("\r\n", "\n");
  let i = 0;
  let line = 1;
  while (i < source.length) {
    const lineStart = line;
    const eol = source.indexOf("\n", i);
    const rest = source.slice(i, eol < 0 ? source.length : eol);
    const trimmed = rest.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) {
      i = eol < 0 ? source.length : eol + 1;
      line++;
      continue;
    }
    const body = trimmed.replace(/^export\s+/, "");
    const key = KEY.exec(body)?.[0];
    if (!key) throw new EnvFileError(lineStart, `expected KEY=VALUE, got ${JSON.stringify(rest.trim().slice(0, 40))}`);
    const afterKey = body.slice(key.length).trimStart();
    if (afterKey === "" || afterKey.startsWith("#")) {
      throw new EnvFileError(lineStart, `${key} has no value: write ${key}=VALUE (or ${key}=\${${key}} to take it from your environment)`);
    }
    if (!afterKey.startsWith("=")) throw new EnvFileError(lineStart, `expected = after ${key}`);
    const valueStart = i + (rest.length - afterKey.length) + 1;
    const parsed = readValue(source, valueStart, lineStart, scoped);
    vars[key] = parsed.value;
    line += countNewlines(source.slice(i, parsed.end));
    i = parsed.end;
    if (source[i] === "\n") {
      i++;
      line++;
    }
  }
  return vars;
}

/** The value starting at `start` (just after `=`), and where its line ends. */
function readValue(source: string, start: number, line: number, lookup: Lookup): { value: string; end: number } {
  let i = start;
  while (source[i] === " " || source[i] === "\t") i++;
  const quote = source[i];
  if (quote === "'" || quote === '"') {
    let raw = "";
    let j = i + 1;
    for (; j < source.length && source[j] !== quote; j++) {
      if (quote === '"' && source[j] === "\\" && j + 1 < source.length) {
        const escaped = ESCAPES[source[j + 1]!];
        raw += escaped ?? `\\${source[j + 1]}`;
        j++;
        continue;
      }
      raw += quote === "'" && source[j] === "$" ? "$$" : source[j];
    }
    if (j >= source.length) throw new EnvFileError(line, `the ${quote === '"' ? "double" : "single"} quote is never closed`);
    const eol = source.indexOf("\n", j + 1);
    const after = source.slice(j + 1, eol < 0 ? source.length : eol).trim();
    if (after !== "" && !after.startsWith("#")) throw new EnvFileError(line, `unexpected ${JSON.stringify(after.slice(0, 20))} after the closing quote`);
    return { value: substitute(raw, line, lookup), end: eol < 0 ? source.length : eol };
  }
  const eol = source.indexOf("\n", i);
  const end = eol < 0 ? source.length : eol;
  let raw = source.slice(i, end);
  const comment = /\s#/.exec(raw);
  if (comment) raw = raw.slice(0, comment.index);
  return { value: substitute(raw.trim(), line, lookup), end };
}

function substitute(raw: string, line: number, lookup: Lookup): string {
  try {
    return interpolate(raw, lookup);
  } catch (error) {
    if (error instanceof InterpolationError) throw new EnvFileError(line, error.message);
    throw error;
  }
}

function countNewlines(text: string): number {
  let n = 0;
  for (const char of text) if (char === "\n") n++;
  return n;
}
