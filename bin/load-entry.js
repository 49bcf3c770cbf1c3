// Loads a TypeScript entry point fast: from a bundle in dist/ that esbuild (re)builds whenever a
// source file is newer than it, falling back to tsx's loader if bundling is not possible.
// PLOYZ_NO_BUNDLE=1 always uses tsx.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const SOURCES = ["actors", "machines", "model", "runtime", "tui", "cli"];

function newestSourceMtime() {
  let newest = Math.max(statSync(join(root, "package.json")).mtimeMs, statSync(join(root, "tsconfig.json")).mtimeMs);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCES) if (existsSync(join(root, dir))) walk(join(root, dir));
  return newest;
}

async function bundle(source, dir) {
  const esbuild = await import("esbuild");
  const tmp = `${dir}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: { main: join(root, source) },
    bundle: true,
    // Dynamic imports become chunks loaded when first needed (dockerode, acme-client …).
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    jsx: "automatic",
    outdir: tmp,
    outExtension: { ".js": ".mjs" },
    logLevel: "silent",
  });
  // Swap directories: a concurrent start sees the old bundle, the new one, or none (then tsx).
  // The old one stays a minute, for processes still loading chunks from it.
  const old = `${dir}.${process.pid}.${Date.now()}.old`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  const parent = join(dir, "..");
  for (const entry of readdirSync(parent)) {
    const path = join(parent, entry);
    if (entry.endsWith(".old") && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { recursive: true, force: true });
  }
}

/** Imports `source` (a path relative to the repository) as the bundle `dist/<name>/main.mjs`. */
export async function loadEntry(name, source) {
  if (!process.env.PLOYZ_NO_BUNDLE) {
    const dir = join(root, "dist", name);
    const out = join(dir, "main.mjs");
    try {
      if (!existsSync(out) || statSync(out).mtimeMs < newestSourceMtime()) {
        mkdirSync(join(root, "dist"), { recursive: true });
        await bundle(source, dir);
      }
      return await import(pathToFileURL(out).href);
    } catch {
      // fall through to tsx
    }
  }
  const { register } = await import("tsx/esm/api");
  register();
  return await import(pathToFileURL(join(root, source)).href);
}
