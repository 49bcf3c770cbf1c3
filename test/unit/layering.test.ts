import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Enforces ARCHITECTURE.md "Layers — imports point down only": machines/ and model/ do no I/O and
 * know nothing of the layers above them; the edges (cli/, tui/) reach actors only through runtime/.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const LAYERS = ["cli", "tui", "runtime", "actors", "machines", "model"] as const;
type Layer = (typeof LAYERS)[number];

/** Modules that do I/O; a specifier matches one of these exactly or as a subpath (`fs/promises`). */
const IO_MODULES = [
  "fs",
  "child_process",
  "net",
  "dgram",
  "http",
  "https",
  "http2",
  "tls",
  "dns",
  "os",
  "dockerode",
  "pino",
  "execa",
  "@nats-io/*",
] as const;

/** Which layers a layer may not import from. */
const FORBIDDEN_LAYERS: Record<Layer, readonly Layer[]> = {
  model: ["machines", "actors", "runtime", "cli", "tui"],
  machines: ["actors", "runtime", "cli", "tui"],
  actors: ["runtime", "cli", "tui"],
  runtime: ["cli", "tui"],
  cli: ["actors"],
  tui: ["actors"],
};
const NO_IO_LAYERS: readonly Layer[] = ["model", "machines"];

interface ImportRef {
  /** The module specifier as written, or undefined for `import(expr)` with a computed argument. */
  specifier: string | undefined;
  line: number;
}

/** Every module a source file refers to: import/export-from, `import x = require()`, `require()`, `import()`, `import("x").T`. */
function findImports(source: string, fileName = "sample.ts"): ImportRef[] {
  const kind = fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, kind);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined) => {
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
    refs.push({ specifier: specifier && ts.isStringLiteralLike(specifier) ? specifier.text : undefined, line });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression);
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === "require";
      if (isDynamicImport || isRequire) add(node, node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return refs;
}

/** The I/O module a specifier names, or undefined. */
function ioModule(specifier: string): string | undefined {
  const bare = specifier.replace(/^node:/, "");
  return IO_MODULES.find((mod) =>
    mod.endsWith("/*") ? bare.startsWith(mod.slice(0, -1)) : bare === mod || bare.startsWith(`${mod}/`),
  );
}

/** The top-level layer a file path (relative to the project root) lives in. */
function layerOf(projectPath: string): Layer | undefined {
  const top = projectPath.split(/[\\/]/)[0];
  return (LAYERS as readonly string[]).includes(top ?? "") ? (top as Layer) : undefined;
}

/** Rule violations in one file, given as source text and its path relative to the project root. */
function checkLayering(projectPath: string, source: string): string[] {
  const layer = layerOf(projectPath);
  if (!layer) return [];
  const violations: string[] = [];
  for (const ref of findImports(source, projectPath)) {
    const where = `${projectPath}:${ref.line}`;
    if (ref.specifier === undefined) {
      violations.push(`${where} imports a computed module specifier, which cannot be checked`);
      continue;
    }
    if (NO_IO_LAYERS.includes(layer)) {
      const io = ioModule(ref.specifier);
      if (io) violations.push(`${where} imports "${ref.specifier}" (${io} does I/O; ${layer}/ must not)`);
    }
    if (ref.specifier.startsWith(".")) {
      const target = relative(ROOT, resolve(ROOT, dirname(projectPath), ref.specifier)).split(sep).join("/");
      const targetLayer = layerOf(target);
      if (targetLayer && FORBIDDEN_LAYERS[layer].includes(targetLayer)) {
        violations.push(`${where} imports "${ref.specifier}" from ${targetLayer}/ (${layer}/ may not)`);
      }
    }
  }
  return violations;
}

function sourceFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}

const filesByLayer = Object.fromEntries(
  LAYERS.map((layer) => [layer, sourceFiles(join(ROOT, layer)).map((path) => relative(ROOT, path).split(sep).join("/"))]),
) as Record<Layer, string[]>;

function violationsIn(layers: readonly Layer[]): string[] {
  return layers.flatMap((layer) =>
    filesByLayer[layer].flatMap((path) => checkLayering(path, readFileSync(join(ROOT, path), "utf8"))),
  );
}

describe("the layering checker (self-check, so the rules cannot pass vacuously)", () => {
  it("finds every form of import", () => {
    const source = [
      `import { a } from "./static.ts";`,
      `import type { B } from "./type-only.ts";`,
      `import "./side-effect.ts";`,
      `export { c } from "./re-export.ts";`,
      `export * from "./star.ts";`,
      `import fs = require("./import-equals");`,
      `const d = await import("./dynamic.ts");`,
      `const e = require("./required");`,
      `type F = import("./import-type.ts").F;`,
      `const g = await import(someName);`,
      `// import { h } from "./commented-out.ts";`,
      `const s = "import x from './in-a-string.ts'";`,
    ].join("\n");
    expect(findImports(source).map((ref) => ref.specifier)).toEqual([
      "./static.ts",
      "./type-only.ts",
      "./side-effect.ts",
      "./re-export.ts",
      "./star.ts",
      "./import-equals",
      "./dynamic.ts",
      "./required",
      "./import-type.ts",
      undefined,
    ]);
    expect(findImports(source).map((ref) => ref.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("parses .tsx files", () => {
    const source = `import { Box } from "ink";\nexport const View = () => <Box />;\nimport("../actors/x.ts");\n`;
    expect(findImports(source, "tui/view.tsx").map((ref) => ref.specifier)).toEqual(["ink", "../actors/x.ts"]);
  });

  it("flags I/O modules in machines/ and model/, with and without the node: prefix and as subpaths", () => {
    const source = [
      `import { readFileSync } from "node:fs";`,
      `import { readFile } from "fs/promises";`,
      `import { spawn } from "node:child_process";`,
      `import net from "net";`,
      `import dgram from "node:dgram";`,
      `import http from "node:http";`,
      `import https from "https";`,
      `import { hostname } from "node:os";`,
      `import type Docker from "dockerode";`,
      `import { connect } from "@nats-io/transport-node";`,
      `export { Kvm } from "@nats-io/kv";`,
      `import pino from "pino";`,
      `const { execa } = await import("execa");`,
    ].join("\n");
    for (const path of ["machines/sample.ts", "model/deep/sample.ts"]) {
      const violations = checkLayering(path, source);
      expect(violations).toHaveLength(13);
      expect(violations[0]).toBe(`${path}:1 imports "node:fs" (fs does I/O; ${path.split("/")[0]}/ must not)`);
    }
  });

  it("lets machines/ and model/ import pure modules and the layers below them", () => {
    const source = [
      `import { setup } from "xstate";`,
      `import { z } from "zod";`,
      `import { join } from "node:path";`,
      `import { fsm } from "./fs-like-name.ts";`,
      `import { osmosis } from "osmosis";`,
      `import type { MachineRecord } from "../model/machine.ts";`,
    ].join("\n");
    expect(checkLayering("machines/sample.ts", source)).toEqual([]);
  });

  it("flags imports from forbidden layers, resolving relative paths", () => {
    expect(checkLayering("machines/sample.ts", `import { x } from "../runtime/store.ts";`)).toEqual([
      `machines/sample.ts:1 imports "../runtime/store.ts" from runtime/ (machines/ may not)`,
    ]);
    expect(checkLayering("model/sub/sample.ts", `export * from "../../actors/a.ts";`)).toHaveLength(1);
    expect(checkLayering("model/sample.ts", `import type { X } from "../machines/node.ts";`)).toHaveLength(1);
    expect(checkLayering("machines/sample.ts", `const m = await import("../cli/main.ts");`)).toHaveLength(1);
    expect(checkLayering("machines/sample.ts", `import { T } from "../tui/app.tsx";`)).toHaveLength(1);
    expect(checkLayering("cli/commands/x/y.ts", `import { createApi } from "../../../actors/api/api.ts";`)).toHaveLength(1);
    expect(checkLayering("tui/app.tsx", `import { a } from "../actors/a.ts";`)).toHaveLength(1);
    expect(checkLayering("actors/a/b.ts", `import { s } from "../../runtime/store.ts";`)).toHaveLength(1);
    expect(checkLayering("actors/a/b.ts", `import { c } from "../../cli/main.ts";`)).toHaveLength(1);
    expect(checkLayering("actors/a/b.ts", `import { t } from "../../tui/app.tsx";`)).toHaveLength(1);
  });

  it("allows what the layers are for", () => {
    expect(checkLayering("cli/args.ts", `import { connectClient } from "../runtime/client.ts";`)).toEqual([]);
    expect(checkLayering("actors/mesh/w.ts", `import type { E } from "../../machines/mesh-peer.ts";\nimport { KV } from "@nats-io/kv";`)).toEqual([]);
    expect(checkLayering("runtime/x.ts", `import { a } from "../actors/a.ts";\nimport { readFileSync } from "node:fs";`)).toEqual([]);
    // A folder merely named like a layer, below another folder, is not that layer.
    expect(checkLayering("machines/sample.ts", `import { a } from "./runtime/helper.ts";`)).toEqual([]);
  });

  it("flags a computed dynamic import, which it cannot check", () => {
    expect(checkLayering("model/sample.ts", `const m = await import(name);`)).toEqual([
      "model/sample.ts:1 imports a computed module specifier, which cannot be checked",
    ]);
  });
});

describe("the layers of this project", () => {
  it("scans the real source tree", () => {
    expect(filesByLayer.machines).toContain("machines/node.ts");
    expect(filesByLayer.model).toContain("model/errors.ts");
    expect(filesByLayer.actors.length).toBeGreaterThan(0);
    expect(filesByLayer.cli).toContain("cli/main.ts");
    expect(findImports(readFileSync(join(ROOT, "machines/node.ts"), "utf8")).map((ref) => ref.specifier)).toContain("xstate");
  });

  it("machines/ and model/ import nothing that does I/O and nothing from the layers above", () => {
    expect(violationsIn(["machines", "model"])).toEqual([]);
  });

  it("actors/ never imports runtime/, cli/ or tui/", () => {
    expect(violationsIn(["actors"])).toEqual([]);
  });

  it("cli/ and tui/ reach actors/ only through runtime/", () => {
    expect(violationsIn(["cli", "tui"])).toEqual([]);
  });

  it("runtime/ never imports the edges (cli/, tui/)", () => {
    expect(violationsIn(["runtime"])).toEqual([]);
  });
});
