// Loads a binary's code: the esbuild bundle in dist/ (bin/bundle.js), rebuilt first when a source
// file changed since it was built. If the bundle cannot be built or loaded, the binary says why on
// stderr, once, and runs the TypeScript sources through tsx instead — several times slower, so
// never silently. PLOYZ_NO_BUNDLE=1 asks for the sources on purpose (no message).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Script } from "node:vm";
import { buildBundle, bundleFreshness, bundlePaths, ENTRIES, FORMATS, ROOT } from "./bundle.js";

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
  let freshness = bundleFreshness(name);
  if (!freshness.fresh) {
    try {
      await buildBundle(name);
    } catch (error) {
      return { problem: `could not build dist/${name} (${freshness.reason}): ${firstLine(error)}` };
    }
    freshness = bundleFreshness(name);
  }
  try {
    if (FORMATS[name] === "cjs") return { module: loadScript(name, main, freshness.hash) };
    return { module: await import(pathToFileURL(main).href) };
  } catch (error) {
    return { problem: `could not load dist/${name}/${main.slice(main.lastIndexOf("/") + 1)}: ${firstLine(error)}` };
  }
}

/**
 * Runs a CommonJS bundle with a V8 code cache beside it, as Node 22's module compile cache would:
 * compiling ployzd's 1.4 MB took about 25 ms of every start. V8 checks a cache against the
 * source's length only, so its name carries the bundle's content hash, and the Node version and
 * flags (V8 refuses a cache made under other flags) and the command. A missing or refused cache is written when
 * the process exits or has run for CACHE_AFTER_MS, with every function compiled by then.
 */
function loadScript(name, file, hash) {
  // One cache per Node, flags and command: `ployzd version` must not leave `ployzd run` (or the
  // `ployzd dns` process) a cache without the functions its start compiles.
  const command = /^[a-z]+$/.test(process.argv[2] ?? "") ? process.argv[2] : "";
  const key = fnv1a(`${process.version} ${process.arch} ${process.execArgv.join(" ")} ${command}`);
  const cacheFile = `${file}.${hash}.${key}.v8cache`;
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  const script = new Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    let saved = false;
    const save = () => {
      if (saved) return;
      saved = true;
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch (error) {
        process.stderr.write(`${name}: could not save its compile cache ${cacheFile} (${firstLine(error)}); it starts about 25 ms slower\n`);
      }
    };
    // When it exits, or once a daemon has been up a while (its start is compiled by then).
    process.once("exit", save);
    setTimeout(save, CACHE_AFTER_MS).unref();
  }
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file));
  return module.exports;
}

const CACHE_AFTER_MS = 10_000;

/** A short, stable hash of a string (no node:crypto on the start path). */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** One line: esbuild's first error with its place, or the error's first line. */
function firstLine(error) {
  const first = error?.errors?.[0];
  if (first) return `${first.location ? `${first.location.file}:${first.location.line}: ` : ""}${first.text}`;
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}
