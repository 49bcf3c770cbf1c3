import { describe, expect, it } from "vitest";
import { interpolate, InterpolationError } from "../../model/compose-interpolation.ts";
import { EnvFileError, parseEnvFile } from "../../model/dotenv.ts";

const env: Record<string, string> = { TAG: "v1.5", EMPTY: "", FOO: "foo", HOST: "db.local", PORT: "5432" };
const lookup = (name: string) => env[name];
const run = (text: string) => interpolate(text, lookup);
const failure = (text: string) => {
  try {
    run(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InterpolationError);
    return (error as Error).message;
  }
  throw new Error(`${text} interpolated`);
};

/** The cases of Docker Compose's documentation, "Interpolation" and "Set, use, and manage variables". */
describe("interpolation as Docker Compose documents it", () => {
  it.each([
    ["webapp:${TAG}", "webapp:v1.5"],
    ["webapp:$TAG", "webapp:v1.5"],
    ["${TAG}-${FOO}", "v1.5-foo"],
    // default when unset or empty / only when unset
    ["${UNSET:-default}", "default"],
    ["${EMPTY:-default}", "default"],
    ["${TAG:-default}", "v1.5"],
    ["${UNSET-default}", "default"],
    ["${EMPTY-default}", ""],
    // replacement when set (and not empty)
    ["${TAG:+replacement}", "replacement"],
    ["${EMPTY:+replacement}", ""],
    ["${EMPTY+replacement}", "replacement"],
    ["${UNSET+replacement}", ""],
    // required values that are there
    ["${TAG:?tag is required}", "v1.5"],
    ["${EMPTY?err}", ""],
    // nested
    ["${UNSET:-${FOO}}", "foo"],
    ["${UNSET:-${ALSO_UNSET:-default}}", "default"],
    ["${UNSET?$FOO}", "__error__"],
    ["postgres://${HOST}:${PORT:-5432}/app", "postgres://db.local:5432/app"],
    // escaping
    ["$${TAG}", "${TAG}"],
    ["echo $$HOME", "echo $HOME"],
    ["price: 5$$", "price: 5$"],
    ["no variables here", "no variables here"],
    ["{braces} without a dollar", "{braces} without a dollar"],
  ])("%s → %s", (text, expected) => {
    if (expected === "__error__") expect(failure(text)).toBe("required variable UNSET is not set: foo");
    else expect(run(text)).toBe(expected);
  });

  it("does not look at a default that is not used", () => {
    expect(run("${TAG:-${UNSET}}")).toBe("v1.5");
    expect(run("${UNSET:+${ALSO_UNSET}}")).toBe("");
  });

  it.each([
    ["${UNSET}", "variable UNSET is not set: set it in your environment or in .env beside the Compose file, or write ${UNSET:-default} (${UNSET:-} for empty)"],
    ["$UNSET", "variable UNSET is not set: set it in your environment or in .env beside the Compose file, or write ${UNSET:-default} (${UNSET:-} for empty)"],
    ["${UNSET:?please set UNSET}", "required variable UNSET is not set: please set UNSET"],
    ["${EMPTY:?must not be empty}", "required variable EMPTY is empty: must not be empty"],
    ["${UNSET?}", "required variable UNSET is not set"],
    ["cost $5", '"$5" is not a variable: write $$ for a literal $'],
    ["trailing $", '"$" is not a variable: write $$ for a literal $'],
    ["${TAG", '"${" without a closing "}" in "${TAG"'],
    ["${UNSET:-abc", '"${" without a closing "}" in "${UNSET:-abc"'],
    ["${1abc}", '"${1abc}" is not a variable: a name starts with a letter or _ (write $$ for a literal $)'],
    ["${TAG!x}", '"${TAG!…" is not a variable: expected } or one of :- - :? ? :+ + after TAG'],
  ])("refuses %s", (text, message) => {
    expect(failure(text)).toBe(message);
  });
});

describe(".env and env_file files", () => {
  it("reads Compose's format", () => {
    const text = [
      "# a comment",
      "",
      "PLAIN=value",
      "export EXPORTED=yes",
      "SPACED =  padded value  ",
      "COMMENTED=abc # not part of it",
      "HASH=abc#def",
      "EMPTY=",
      "SINGLE='literal $FOO \\n'",
      'DOUBLE="tab\\there \\"quoted\\" $FOO"',
      'MULTI="line one',
      'line two"',
      "REF=${PLAIN}-${FOO}",
      "DEFAULTED=${NOPE:-fallback}",
      "ESCAPED=$$FOO",
      "DOTTED.KEY=ok",
    ].join("\n");
    expect(parseEnvFile(text, lookup)).toEqual({
      PLAIN: "value",
      EXPORTED: "yes",
      SPACED: "padded value",
      COMMENTED: "abc",
      HASH: "abc#def",
      EMPTY: "",
      SINGLE: "literal $FOO \\n",
      DOUBLE: 'tab\there "quoted" foo',
      MULTI: "line one\nline two",
      REF: "value-foo",
      DEFAULTED: "fallback",
      ESCAPED: "$FOO",
      "DOTTED.KEY": "ok",
    });
  });

  it("prefers a variable the file set before over the environment", () => {
    expect(parseEnvFile("FOO=mine\nBAR=${FOO}", lookup)).toEqual({ FOO: "mine", BAR: "mine" });
  });

  it("reads CRLF files and a byte-order mark", () => {
    expect(parseEnvFile("\uFEFFA=1\r\nB=2\r\n", lookup)).toEqual({ A: "1", B: "2" });
  });

  it.each([
    ["A=1\nTOKEN\n", "line 2: TOKEN has no value: write TOKEN=VALUE (or TOKEN=${TOKEN} to take it from your environment)"],
    ["A=1\n\n=x", 'line 3: expected KEY=VALUE, got "=x"'],
    ['A="open', "line 1: the double quote is never closed"],
    ["A='x' y", 'line 1: unexpected "y" after the closing quote'],
    ["A=1\nB=${UNSET}", "line 2: variable UNSET is not set: set it in your environment or in .env beside the Compose file, or write ${UNSET:-default} (${UNSET:-} for empty)"],
    ["A:1", "line 1: expected = after A"],
  ])("refuses %j with its line", (text, message) => {
    expect(() => parseEnvFile(text, lookup)).toThrow(EnvFileError);
    expect(() => parseEnvFile(text, lookup)).toThrow(message);
  });
});
