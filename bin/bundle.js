// The esbuild bundles that bin/ployzctl.js and bin/ployzd.js run, and dist/<name>/build.json,
// which records every input with its mtime so that a start-up can tell in a millisecond or two
// whether the bundle is stale:
//   dist/ployzctl/main.mjs + chunks: ES modules; each command, ink … in a chunk loaded when needed.
//   dist/ployzd/main.cjs: one CommonJS script, which bin/load-entry.js compiles with a V8 code
//     cache (Node 20 has no compile cache for modules; a long-lived daemon needs no chunks).
//
//   node bin/bundle.js            build every bundle (scripts/setup.sh does this)
//   node bin/bundle.js --check    exit 1 and say why if a bundle is missing or stale
//
// Plain JavaScript: it runs before anything can compile TypeScript.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Each binary's TypeScript entry point. */
export const ENTRIES = { ployzctl: "cli/main.ts", ployzd: "runtime/ployzd.ts" };

/** How each bundle is loaded: as ES modules with chunks, or as one script with a code cache. */
export const FORMATS = { ployzctl: "esm", ployzd: "cjs" };

/**
 * Packages left out of the bundles and loaded from node_modules when first needed. Everything
 * else (zod, yargs, the NATS client, xstate, yaml, pino …) is bundled: resolving and reading
 * hundreds of small files through Node's module loader cost more than the code itself.
 * These are loaded lazily by the few commands that use them, or cannot be bundled at all
 * (esbuild and tsx themselves).
 */
const EXTERNAL = ["acme-client", "@statelyai/inspect", "ws", "react-devtools-core", "esbuild", "tsx", "typescript"];

/** Every `string-width` in the bundles is bin/lazy-string-width.js, which loads the real one when it must. */
const lazyStringWidth = {
  name: "lazy-string-width",
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, (args) =>
      args.importer.endsWith("lazy-string-width.js") ? undefined : { path: fileURLToPath(new URL("./lazy-string-width.js", import.meta.url)) },
    );
  },
};

/**
 * `z.locales` is only English in the bundles: zod re-exports its 64 translations (340 kB, more
 * than the rest of zod) from its main module, and Ployz never switches language.
 */
const englishOnlyZod = {
  name: "english-only-zod",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /node_modules\/zod\/v4\/(classic|core)\//.test(args.importer) ? { path: join(dirname(args.importer), "../locales/en.js"), namespace: "zod-english" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-english" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

/** Modules of dependencies that Ployz never runs, and their stand-ins (bin/bundle-stubs.js). */
const STUBBED = [
  { importer: /node_modules\/dockerode\/lib\/docker\.js$/, path: "./session", stub: "module.exports = require(STUBS).withSession;" },
  { importer: /node_modules\/dockerode\/lib\/docker\.js$/, path: "./buildkit", stub: "module.exports = { followProgress: require(STUBS).buildkitProgress };" },
  { importer: /node_modules\/docker-modem\/lib\/modem\.js$/, path: "./ssh", stub: "module.exports = require(STUBS).sshAgent;" },
];
const stubs = {
  name: "stubs",
  setup(build) {
    const stubsFile = fileURLToPath(new URL("./bundle-stubs.js", import.meta.url));
    build.onResolve({ filter: /^\.\/(session|buildkit|ssh)$/ }, (args) => {
      const index = STUBBED.findIndex((s) => s.path === args.path && s.importer.test(args.importer));
      return index < 0 ? undefined : { path: String(index), namespace: "stub" };
    });
    build.onLoad({ filter: /.*/, namespace: "stub" }, (args) => ({
      contents: STUBBED[Number(args.path)].stub.replace("STUBS", JSON.stringify(stubsFile)),
      resolveDir: dirname(stubsFile),
      loader: "js",
    }));
  },
};

/** Files outside the module graph whose change makes every bundle stale. */
const ALWAYS = ["package.json", "tsconfig.json", "node_modules/.package-lock.json", "bin/bundle.js", "bin/bundle-stubs.js", "bin/lazy-string-width.js"];

const BUILD_FORMAT = 2;

/** Where a bundle lives. */
export function bundlePaths(name, root = ROOT) {
  const dir = join(root, "dist", name);
  return { dir, main: join(dir, FORMATS[name] === "cjs" ? "main.cjs" : "main.mjs"), record: join(dir, "build.json") };
}

/**
 * Whether dist/<name> is up to date: `{ fresh: true }` or `{ fresh: false, reason }`. Compares the
 * mtime of every input esbuild read (sources only; dependencies through node_modules/.package-lock.json)
 * with the one recorded at build time: equal or stale, so a file restored with an older mtime counts too.
 */
export function bundleFreshness(name, root = ROOT) {
  const { main, record } = bundlePaths(name, root);
  if (!existsSync(main) || !existsSync(record)) return { fresh: false, reason: "not built yet" };
  let built;
  try {
    built = JSON.parse(readFileSync(record, "utf8"));
  } catch (error) {
    return { fresh: false, reason: `${relative(root, record)} is unreadable (${error.message})` };
  }
  if (built.format !== BUILD_FORMAT || built.entry !== ENTRIES[name]) return { fresh: false, reason: "built by another version of bin/bundle.js" };
  for (const [file, mtimeMs] of Object.entries(built.inputs)) {
    const stat = statSync(join(root, file), { throwIfNoEntry: false });
    if (!stat) return { fresh: false, reason: `${file} is gone` };
    if (stat.mtimeMs !== mtimeMs) return { fresh: false, reason: `${file} changed` };
  }
  return { fresh: true, hash: built.hash };
}

/** esbuild's options for the bundle of `name`, written to `outdir`. */
export function bundleOptions(name, outdir, root = ROOT) {
  const entry = ENTRIES[name];
  if (!entry) throw new Error(`no bundle called ${name} (there are ${Object.keys(ENTRIES).join(", ")})`);
  if (FORMATS[name] === "cjs") {
    return {
      ...bundleOptions("ployzctl", outdir, root),
      entryPoints: { main: entry },
      splitting: false,
      format: "cjs",
      outExtension: { ".js": ".cjs" },
      // import() of what stays outside becomes require(): a script compiled with vm.Script can
      // only import() with an experimental flag.
      supported: { "dynamic-import": false },
      banner: { js: 'const __ployzImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
      define: { PLOYZ_BUNDLE: "true", "import.meta.url": "__ployzImportMetaUrl" },
    };
  }
  return {
    absWorkingDir: root,
    entryPoints: { main: entry },
    bundle: true,
    // Dynamic imports become chunks loaded when first needed: each command, ink for `top` …
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: EXTERNAL,
    jsx: "automatic",
    outdir,
    outExtension: { ".js": ".mjs" },
    // Bundled CommonJS packages call require() for Node's own modules.
    banner: { js: 'import { createRequire as __ployzCreateRequire } from "node:module"; const require = __ployzCreateRequire(import.meta.url);' },
    // runtime/build-info.ts: how this process runs.
    define: { PLOYZ_BUNDLE: "true" },
    plugins: [lazyStringWidth, englishOnlyZod, stubs],
    metafile: true,
    logLevel: "silent",
  };
}

/** How long a file of an older build stays in dist/<name>, for processes that loaded that build. */
const KEEP_OLD_FILES_MS = 60 * 60_000;

/**
 * Builds dist/<name>. Chunks have content-hashed names and are added beside those of older builds,
 * each written whole (temporary file, then rename); main.mjs and build.json are replaced last. So a
 * start during a build loads the old bundle or the new one, never half of one, and a process that
 * loaded an older build still finds its chunks (files no build needs are removed after an hour).
 */
export async function buildBundle(name, root = ROOT) {
  const entry = ENTRIES[name];
  if (!entry) throw new Error(`no bundle called ${name} (there are ${Object.keys(ENTRIES).join(", ")})`);
  const esbuild = await import("esbuild");
  const { createHash } = await import("node:crypto");
  const { dir, main, record } = bundlePaths(name, root);
  // Read before building: a file saved during the build then differs and the next start rebuilds.
  const always = Object.fromEntries(ALWAYS.filter((file) => existsSync(join(root, file))).map((file) => [file, statSync(join(root, file)).mtimeMs]));
  const result = await esbuild.build({ ...bundleOptions(name, dir, root), write: false });
  const inputs = { ...always };
  for (const file of Object.keys(result.metafile.inputs)) {
    // Dependencies are covered by node_modules/.package-lock.json; "stub:1" and the like are plugins' own.
    if (file.includes("node_modules/") || /^[a-z-]+:/.test(file)) continue;
    inputs[file] = statSync(join(root, file)).mtimeMs;
  }
  mkdirSync(dir, { recursive: true });
  const written = new Set([main, record]);
  // Chunks first, then the entry that imports them, then the record that says it is current.
  for (const file of result.outputFiles.filter((f) => f.path !== main)) {
    written.add(file.path);
    if (!existsSync(file.path)) writeWhole(file.path, file.contents); // else: same name, same content
  }
  const mainFile = result.outputFiles.find((f) => f.path === main);
  writeWhole(main, mainFile.contents);
  // Names the V8 code cache of this main file (bin/load-entry.js): V8 checks only its length.
  const hash = createHash("sha256").update(mainFile.contents).digest("hex").slice(0, 16);
  writeWhole(record, `${JSON.stringify({ format: BUILD_FORMAT, entry, hash, builtAt: new Date().toISOString(), inputs }, null, 1)}\n`);
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    if (!written.has(path) && Date.now() - statSync(path).mtimeMs > KEEP_OLD_FILES_MS) rmSync(path, { force: true });
  }
  return record;
}

/** Writes a file under a temporary name and renames it into place: readers see all of it or none. */
function writeWhole(path, contents) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const name of Object.keys(ENTRIES)) {
    const freshness = bundleFreshness(name);
    if (check) {
      if (!freshness.fresh) {
        stale++;
        process.stderr.write(`bundle: dist/${name} is stale: ${freshness.reason}\n`);
      }
    } else if (!freshness.fresh) {
      await buildBundle(name);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
