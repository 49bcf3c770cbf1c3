// Loads a binary's code: the esbuild bundle in dist/ (bin/bundle.js), rebuilt first when a source
// file changed since it was built. If the bundle cannot be built or loaded, the binary says why on
// stderr, once, and runs the TypeScript sources through tsx instead — several times slower, so
// never silently. PLOYZ_NO_BUNDLE=1 asks for the sources on purpose (no message).
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { buildBundle, bundleFreshness, bundlePaths, ENTRIES, ROOT } from "./bundle.js";

/** Imports the entry module of binary `name` (a key of ENTRIES). */
export async function loadEntry(name) {
  if (!process.env.PLOYZ_NO_BUNDLE) {
    const bundle = await loadBundle(name);
    if (bundle.module) return bundle.module;
    process.stderr.write(`${name}: ${bundle.problem}; running the TypeScript sources through tsx instead (slower).\n`);
  }
  const { register } = await import("tsx/esm/api");
  register();
  return await import(pathToFileURL(join(ROOT, ENTRIES[name])).href);
}

/** `{ module }`, or `{ problem }` saying why the bundle is not usable. */
async function loadBundle(name) {
  const { main } = bundlePaths(name);
  const freshness = bundleFreshness(name);
  if (!freshness.fresh) {
    try {
      await buildBundle(name);
    } catch (error) {
      return { problem: `could not build dist/${name} (${freshness.reason}): ${firstLine(error)}` };
    }
  }
  try {
    return { module: await import(pathToFileURL(main).href) };
  } catch (error) {
    return { problem: `could not load dist/${name}/main.mjs: ${firstLine(error)}` };
  }
}

/** One line: esbuild's first error with its place, or the error's first line. */
function firstLine(error) {
  const first = error?.errors?.[0];
  if (first) return `${first.location ? `${first.location.file}:${first.location.line}: ` : ""}${first.text}`;
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}
