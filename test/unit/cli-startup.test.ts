import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Every ployzctl command pays for what cli/main.ts imports at start-up. ink and react (with
 * yoga's WebAssembly) cost about half a second: only `ployz top` may load them, lazily. Likewise
 * ployzd loads @statelyai/inspect only when asked to (--inspect).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HEAVY = ["ink", "react", "ink-testing-library", "@statelyai/inspect"];

/** Static imports only (`import … from`, `export … from`); `import()` is lazy and allowed. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: string[] = [];
  for (const node of source.statements) {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly : node.isTypeOnly;
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    }
  }
  return out;
}

/** Every package reached by static imports from `entry`, with the chain that reaches it. */
function packagesReached(entry: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) visit(target, [...chain, target.slice(ROOT.length + 1)]);
      } else if (!reached.has(spec)) {
        reached.set(spec, chain);
      }
    }
  };
  visit(entry, [entry.slice(ROOT.length + 1)]);
  return reached;
}

describe("ployzctl start-up", () => {
  it("the walker finds packages (self-check)", () => {
    const reached = packagesReached(resolve(ROOT, "cli/main.ts"));
    expect(reached.has("yargs")).toBe(true);
    expect(packagesReached(resolve(ROOT, "tui/top/TopApp.tsx")).has("ink")).toBe(true);
  });

  it("cli/main.ts loads no command, and nothing heavier than yargs, before it knows which command runs", () => {
    const reached = packagesReached(resolve(ROOT, "cli/main.ts"));
    expect([...reached.keys()].filter((p) => !p.startsWith("node:")).sort()).toEqual(["yargs", "yargs/helpers"]);
  });

  it("each command loads only what it uses: version no NATS or zod, status no JetStream store, Docker or ink", () => {
    const heavyFor = (file: string, packages: string[]) => {
      const reached = packagesReached(resolve(ROOT, file));
      return packages.filter((p) => reached.has(p)).map((p) => `${p} via ${reached.get(p)!.join(" → ")}`);
    };
    expect(heavyFor("cli/commands/version.ts", ["zod", "@nats-io/transport-node", "yargs"])).toEqual([]);
    const store = ["@nats-io/jetstream", "@nats-io/kv", "@nats-io/obj", "dockerode", "yaml", ...HEAVY];
    for (const command of ["status", "ps", "history", "routes", "explain"]) expect(heavyFor(`cli/commands/${command}.ts`, store)).toEqual([]);
    // The self-check of the above: the store is reachable where it is used.
    expect(packagesReached(resolve(ROOT, "runtime/store.ts")).has("@nats-io/jetstream")).toBe(true);
  });

  it("ployzd loads the Stately inspector's WebSocket client only with --inspect", () => {
    const reached = packagesReached(resolve(ROOT, "runtime/ployzd.ts"));
    expect(reached.has("@nats-io/transport-node")).toBe(true);
    expect(HEAVY.filter((p) => reached.has(p))).toEqual([]);
  });
});
