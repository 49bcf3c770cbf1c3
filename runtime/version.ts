import packageJson from "../package.json" with { type: "json" };

/** This build's version, from package.json (inlined into the bundle by esbuild). */
export const VERSION: string = packageJson.version;
