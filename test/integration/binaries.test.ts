import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runDaemon, runNode } from "../harness/cli.ts";

/**
 * bin/ployzctl.js and bin/ployzd.js run an esbuild bundle of the sources (bin/bundle.js) and fall
 * back to tsx — several times slower — only with a message. These run the binaries as a user
 * does (`node bin/…`) and fail if they did not run from the bundle.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FALLBACK = /running the TypeScript sources through tsx instead \(slower\)/g;

interface VersionJson {
  version: string;
  runningFrom: "bundle" | "sources";
}

function parseVersion(stdout: string): VersionJson {
  try {
    return JSON.parse(stdout) as VersionJson;
  } catch {
    throw new Error(`version --json printed no JSON:\n${stdout}`);
  }
}

describe("the binaries of this checkout", () => {
  it("ployzctl runs from the bundle, and says nothing about it on stderr", async () => {
    const result = await runCli(["version", "--json"], process.env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(parseVersion(result.stdout).runningFrom).toBe("bundle");
  });

  it("ployzd runs from the bundle, and says nothing about it on stderr", async () => {
    const result = await runDaemon(["version", "--json"], process.env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(parseVersion(result.stdout).runningFrom).toBe("bundle");
  });
});

/**
 * A copy of the repository's sources and bin/ (node_modules linked), so that its bundle can be
 * made stale, unbuildable or broken without touching the one every other test uses.
 */
describe("a copy of the repository: rebuilt when stale, and loud when the bundle cannot be used", () => {
  let copy: string;
  const ployzctl = () => join(copy, "bin", "ployzctl.js");
  const version = (env: NodeJS.ProcessEnv = process.env) => runNode(ployzctl(), ["version", "--json"], env);
  const builtAt = () => (JSON.parse(readFileSync(join(copy, "dist", "ployzctl", "build.json"), "utf8")) as { builtAt: string }).builtAt;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), "ployz-binaries-"));
    for (const entry of ["actors", "bin", "cli", "machines", "model", "runtime", "tui", "package.json", "tsconfig.json"]) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  });
  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it("builds the bundle on first use, runs from it, and does not build it again", async () => {
    const first = await version();
    expect(first.stderr).toBe("");
    expect(parseVersion(first.stdout).runningFrom).toBe("bundle");
    const built = builtAt();
    const second = await version();
    expect(parseVersion(second.stdout).runningFrom).toBe("bundle");
    expect(builtAt()).toBe(built);
  });

  it("rebuilds when a source it was built from changes, also to an older mtime", async () => {
    const before = builtAt();
    const file = join(copy, "cli", "commands", "version.ts");
    writeFileSync(file, `${readFileSync(file, "utf8")}\n// changed by the test\n`);
    const changed = await version();
    expect(changed.stderr).toBe("");
    expect(parseVersion(changed.stdout).runningFrom).toBe("bundle");
    const rebuilt = builtAt();
    expect(rebuilt).not.toBe(before);
    // A file put back from a backup keeps its old mtime: different is stale too.
    utimesSync(file, new Date("2020-01-01"), new Date("2020-01-01"));
    await version();
    expect(builtAt()).not.toBe(rebuilt);
  });

  it("ployzd keeps a V8 code cache of its bundle: written on its first run, kept while V8 accepts it, a corrupt one refused and replaced", async () => {
    const ployzd = join(copy, "bin", "ployzd.js");
    const caches = () => readdirSync(join(copy, "dist", "ployzd")).filter((f) => f.endsWith(".v8cache"));
    const first = await runNode(ployzd, ["version", "--json"], process.env);
    expect(first.stderr).toBe("");
    expect(parseVersion(first.stdout).runningFrom).toBe("bundle");
    expect(caches()).toHaveLength(1);
    const cache = join(copy, "dist", "ployzd", caches()[0]!);
    // Accepted by V8, it is not written again.
    const written = statSync(cache).mtimeMs;
    const second = await runNode(ployzd, ["version", "--json"], process.env);
    expect(second.stderr).toBe("");
    expect(statSync(cache).mtimeMs).toBe(written);
    writeFileSync(cache, "not a V8 code cache");
    const corrupt = await runNode(ployzd, ["version", "--json"], process.env);
    expect(corrupt.stderr).toBe("");
    expect(parseVersion(corrupt.stdout).runningFrom).toBe("bundle");
    expect(readFileSync(cache).length).toBeGreaterThan(100_000);
  });

  it("a bundle that does not load: says why, once, and runs from the sources", async () => {
    writeFileSync(join(copy, "dist", "ployzctl", "main.mjs"), "export const main = ;\n");
    const result = await version();
    expect(result.code).toBe(0);
    expect(result.stderr.match(FALLBACK)).toHaveLength(1);
    expect(result.stderr).toMatch(/^ployzctl: could not load dist\/ployzctl\/main\.mjs: Unexpected token/);
    expect(parseVersion(result.stdout).runningFrom).toBe("sources");
  });

  it("a bundle that cannot be built: says why, once, and runs from the sources", async () => {
    rmSync(join(copy, "dist"), { recursive: true, force: true });
    writeFileSync(join(copy, "dist"), "not a directory\n");
    const result = await version();
    expect(result.code).toBe(0);
    expect(result.stderr.match(FALLBACK)).toHaveLength(1);
    expect(result.stderr).toMatch(/^ployzctl: could not build dist\/ployzctl \(not built yet\): ENOTDIR/);
    expect(parseVersion(result.stdout).runningFrom).toBe("sources");
  });

  it("PLOYZ_NO_BUNDLE=1 runs the sources on purpose, without a message", async () => {
    const result = await version({ ...process.env, PLOYZ_NO_BUNDLE: "1" });
    expect(result.stderr).toBe("");
    expect(parseVersion(result.stdout).runningFrom).toBe("sources");
  });
});
