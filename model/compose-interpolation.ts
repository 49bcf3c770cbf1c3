/**
 * Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `${VAR?message}`, `${VAR:+replacement}`, `${VAR+replacement}` (defaults and
 * replacements may themselves hold variables) and `$$` for a literal `$`, as Docker Compose does.
 *
 * One departure, on purpose: a variable that is not set and has no default is an error here,
 * where Compose warns and substitutes an empty string. A deploy goes to a cluster and stays in
 * its history; `${VAR:-}` says "empty is fine" in one place.
 */

/** A variable lookup: the value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/** Why a string could not be interpolated. */
export class InterpolationError extends Error {
  override name = "InterpolationError";
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** `text` with every variable substituted from `lookup`; throws InterpolationError naming the first problem. */
export function interpolate(text: string, lookup: Lookup): string {
  const { value, end } = scan(text, 0, lookup, false);
  if (end !== text.length) throw new InterpolationError(`unexpected "}" at ${end + 1} in ${JSON.stringify(text)}`);
  return value;
}

/**
 * Reads from `start` until the end of `text` (or, `inBraces`, the `}` that closes the enclosing
 * `${`), substituting as it goes. `evaluate: false` only skips over a word that is not used.
 */
function scan(text: string, start: number, lookup: Lookup, inBraces: boolean, evaluate = true): { value: string; end: number } {
  let out = "";
  let i = start;
  while (i < text.length) {
    const char = text[i]!;
    if (inBraces && char === "}") return { value: out, end: i };
    if (char !== "$") {
      out += char;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next === "{") {
      const braced = bracedVariable(text, i + 2, lookup, evaluate);
      out += braced.value;
      i = braced.end + 1;
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (!name) throw new InterpolationError(`${JSON.stringify(text.slice(i, i + 2) || "$")} is not a variable: write $$ for a literal $`);
    if (evaluate) out += required(name, lookup(name));
    i += 1 + name.length;
  }
  if (inBraces) throw new InterpolationError(`"\${" without a closing "}" in ${JSON.stringify(text)}`);
  return { value: out, end: i };
}

/** `${NAME[op word]}` starting after `${`; returns the value and the index of the closing `}`. */
function bracedVariable(text: string, start: number, lookup: Lookup, evaluate: boolean): { value: string; end: number } {
  const name = NAME.exec(text.slice(start))?.[0];
  if (!name) {
    const close = text.indexOf("}", start);
    const shown = close < 0 ? text.slice(start - 2) : text.slice(start - 2, close + 1);
    throw new InterpolationError(`${JSON.stringify(shown)} is not a variable: a name starts with a letter or _ (write $$ for a literal $)`);
  }
  let i = start + name.length;
  const operator = /^(:-|-|:\?|\?|:\+|\+)/.exec(text.slice(i))?.[0];
  const value = evaluate ? lookup(name) : undefined;
  if (!operator) {
    if (i >= text.length) throw new InterpolationError(`"\${" without a closing "}" in ${JSON.stringify(text)}`);
    if (text[i] !== "}") throw new InterpolationError(`"\${${name}${text.slice(i, i + 1)}…" is not a variable: expected } or one of :- - :? ? :+ + after ${name}`);
    return { value: evaluate ? required(name, value) : "", end: i };
  }
  i += operator.length;
  const set = value !== undefined;
  const setAndNonEmpty = set && value !== "";
  const takesWord =
    operator === ":-" ? !setAndNonEmpty : operator === "-" ? !set : operator === ":+" ? setAndNonEmpty : operator === "+" ? set : operator === ":?" ? !setAndNonEmpty : !set;
  const word = scan(text, i, lookup, true, evaluate && takesWord);
  if (!evaluate) return { value: "", end: word.end };
  if (operator === ":?" || operator === "?") {
    if (takesWord) throw new InterpolationError(`required variable ${name} is ${set ? "empty" : "not set"}${word.value ? `: ${word.value}` : ""}`);
    return { value: value!, end: word.end };
  }
  if (operator === ":+" || operator === "+") return { value: takesWord ? word.value : "", end: word.end };
  return { value: takesWord ? word.value : value!, end: word.end };
}

function required(name: string, value: string | undefined): string {
  if (value === undefined) {
    throw new InterpolationError(`variable ${name} is not set: set it in your environment or in .env beside the Compose file, or write \${${name}:-default} (\${${name}:-} for empty)`);
  }
  return value;
}
