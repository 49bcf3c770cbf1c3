import { fileURLToPath } from "node:url";

/** Replaced by `true` when bin/bundle.js builds the bundle (esbuild `define`); absent otherwise. */
declare const PLOYZ_BUNDLE: boolean | undefined;

/**
 * How this process runs: from the esbuild bundle in dist/ (what bin/ployzctl.js and bin/ployzd.js
 * load) or from the TypeScript sources (tsx with PLOYZ_NO_BUNDLE=1 or after a bundle failure, vitest).
 */
export const RUNNING_FROM: "bundle" | "sources" = typeof PLOYZ_BUNDLE === "undefined" ? "sources" : "bundle";

/**
 * The package's root (where package.json and bin/ are). Paths relative to `import.meta.url` differ
 * between the sources (this file is runtime/build-info.ts) and the bundle (a chunk in
 * dist/<name>/): resolve files of the package from here, never from `import.meta.url` elsewhere.
 */
export const PACKAGE_ROOT: string = fileURLToPath(new URL(RUNNING_FROM === "bundle" ? "../../" : "../", import.meta.url));
