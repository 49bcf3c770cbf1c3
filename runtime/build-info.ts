/** Replaced by `true` when bin/bundle.js builds the bundle (esbuild `define`); absent otherwise. */
declare const PLOYZ_BUNDLE: boolean | undefined;

/**
 * How this process runs: from the esbuild bundle in dist/ (what bin/ployzctl.js and bin/ployzd.js
 * load) or from the TypeScript sources (tsx with PLOYZ_NO_BUNDLE=1 or after a bundle failure, vitest).
 */
export const RUNNING_FROM: "bundle" | "sources" = typeof PLOYZ_BUNDLE === "undefined" ? "sources" : "bundle";
