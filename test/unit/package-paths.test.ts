import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../runtime/build-info.ts";

/**
 * The bundle moves every module to dist/<name>/, so a path made from `import.meta.url` points
 * elsewhere there than in the sources (it broke `ployzctl version` and `ployzctl dev up`).
 * runtime/build-info.ts is the one place that knows both layouts.
 */
describe("paths inside the package", () => {
  it("PACKAGE_ROOT is the package's root", () => {
    expect(existsSync(join(PACKAGE_ROOT, "bin", "ployzd.js"))).toBe(true);
    expect((JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { name: string }).name).toBe("ployz");
  });

  it("no module that goes into a bundle resolves files from import.meta.url, except runtime/build-info.ts", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.tsx?$/.test(entry) && readFileSync(path, "utf8").includes("import.meta.url")) offenders.push(relative(PACKAGE_ROOT, path));
      }
    };
    for (const dir of ["actors", "cli", "machines", "model", "runtime", "tui"]) walk(join(PACKAGE_ROOT, dir));
    expect(offenders).toEqual(["runtime/build-info.ts"]);
  });
});
