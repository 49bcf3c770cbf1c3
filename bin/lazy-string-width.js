// `string-width` as the bundles see it (bin/bundle.js redirects every import of it here). The
// package builds an Intl.Segmenter and several Unicode-property regular expressions when it is
// imported, about 10 ms per copy, and yargs, cliui and wrap-ansi load it on every start although
// help text is plain ASCII. Printable ASCII is measured here, exactly as string-width itself
// measures it (its own fast path); anything else loads the real package on first use (esbuild
// evaluates a module reached through require() only when it is first required).
const PRINTABLE_ASCII = /^[\u0020-\u007E]*$/;

let real;

/** The number of terminal columns `text` takes. */
export default function stringWidth(text, options) {
  if (typeof text === "string" && PRINTABLE_ASCII.test(text)) return text.length;
  real ??= require("string-width").default;
  return real(text, options);
}
