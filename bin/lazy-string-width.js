// `string-width` as the bundles see it (bin/bundle.js redirects every import of it here). The
// package builds an Intl.Segmenter and several Unicode-property regular expressions when it is
// imported, about 10 ms per copy, and yargs, cliui and wrap-ansi load it on every start although
// help text is plain ASCII. Printable ASCII is measured here, exactly as string-width itself
// measures it (its own fast path); anything else loads the real package on first use (esbuild
// evaluates a module reached through require() only when it is first required) and is
// remembered: ink asks for the width of every character of every line on every frame, and
// segmenting "├─" again each time was most of what an idle `ployz top` cost.
const PRINTABLE_ASCII = /^[\u0020-\u007E]*$/;
const REMEMBERED = 4096;

let real;
const widths = new Map();

/** The number of terminal columns `text` takes. */
export default function stringWidth(text, options) {
  if (typeof text === "string" && PRINTABLE_ASCII.test(text)) return text.length;
  real ??= require("string-width").default;
  if (typeof text !== "string" || text.length > 256 || (options && Object.keys(options).length > 0)) return real(text, options);
  let width = widths.get(text);
  if (width === undefined) {
    width = real(text);
    if (widths.size >= REMEMBERED) widths.clear();
    widths.set(text, width);
  }
  return width;
}
