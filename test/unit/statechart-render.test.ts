import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setup, type AnyStateMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { statechartsMarkdown } from "../../tui/statechart/doc.ts";
import { activePaths, allStates, statechartGraph } from "../../tui/statechart/graph.ts";
import { STATECHART_NAMES, STATECHARTS, statechartNamed } from "../../tui/statechart/registry.ts";
import { renderAscii, renderDot, renderMermaid, renderStatechart } from "../../tui/statechart/render.ts";

const MACHINES_DIR = fileURLToPath(new URL("../../machines/", import.meta.url));

/** Every statechart exported by a file of machines/, found by looking, not by a list. */
async function machinesInTheFolder(): Promise<Array<{ file: string; machine: AnyStateMachine }>> {
  const found: Array<{ file: string; machine: AnyStateMachine }> = [];
  for (const file of readdirSync(MACHINES_DIR).filter((f) => f.endsWith(".ts"))) {
    const module = (await import(`${MACHINES_DIR}${file}`)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (value && typeof value === "object" && "root" in value && "provide" in value) found.push({ file, machine: value as AnyStateMachine });
    }
  }
  return found;
}

/** A leaf state of each machine to mark as current: the last atomic state, nested where there is nesting. */
function someLeaf(machine: AnyStateMachine): string {
  const states = allStates(statechartGraph(machine)).filter((s) => s.children.length === 0 && s.type !== "final");
  return states.find((s) => s.path.includes(".")) ? states.filter((s) => s.path.includes(".")).at(-1)!.path : states.at(-1)!.path;
}

describe("the statechart registry", () => {
  it("holds every statechart in machines/, under its own id", async () => {
    const found = await machinesInTheFolder();
    expect(found.length).toBeGreaterThanOrEqual(4);
    for (const { file, machine } of found) {
      expect(statechartNamed(machine.id), `${file}: ${machine.id} is not in tui/statechart/registry.ts`).toBe(machine);
    }
    expect(STATECHART_NAMES.sort()).toEqual([...new Set(found.map((f) => f.machine.id))].sort());
  });

  it("knows no other names", () => {
    expect(statechartNamed("nosuch")).toBeUndefined();
    expect(statechartNamed("toString")).toBeUndefined();
  });
});

describe.each(Object.entries(STATECHARTS))("the %s statechart, rendered", (name, machine) => {
  const graph = statechartGraph(machine);
  const states = allStates(graph).filter((s) => s.path !== "");
  const current = someLeaf(machine);
  const mermaidId = (path: string) => path.replace(/\./g, "_");

  it("has its states, from the definition", () => {
    expect(graph.id).toBe(name);
    expect(states.length).toBeGreaterThan(1);
    expect(states.map((s) => s.path)).toContain(current);
  });

  it("ascii: every state appears once, the current one marked ▶ and its ancestors ▷", () => {
    const lines = renderAscii(graph, { current });
    for (const state of states) {
      const stateLines = lines.filter((l) => l.kind === "state" && l.text.trim().replace(/^[▶▷] +/, "").split(" ")[0] === state.key && l.depth === state.path.split(".").length);
      expect(stateLines.length, `state ${state.path}`).toBeGreaterThanOrEqual(1);
    }
    const marked = lines.filter((l) => l.current && l.kind === "state");
    expect(marked).toHaveLength(1);
    expect(marked[0]!.text).toMatch(new RegExp(`^▶ +${current.split(".").at(-1)} \\(.*current\\)$`));
    const ancestors = current.split(".").slice(0, -1);
    expect(lines.filter((l) => l.kind === "state" && l.text.startsWith("▷")).map((l) => l.text.trim().slice(1).trim().split(" ")[0])).toEqual(ancestors);
    // Without a current state nothing is marked.
    expect(renderAscii(graph).some((l) => l.active || l.text.includes("▶"))).toBe(false);
  });

  it("ascii: every transition is written with its target", () => {
    const text = renderStatechart(graph, "ascii");
    for (const state of allStates(graph)) {
      for (const t of state.transitions) {
        const target = t.targets.length ? t.targets.map((p) => p || name).join(", ") : "(stays)";
        expect(text).toContain(`${t.guard ? `${t.label} [${t.guard}]` : t.label} → ${target}`);
      }
    }
  });

  it("mermaid: stateDiagram-v2 with every state, the initial ones, and the current one classed", () => {
    const text = renderMermaid(graph, { current });
    expect(text.startsWith("stateDiagram-v2\n")).toBe(true);
    for (const state of states) expect(text).toMatch(new RegExp(`(^|\\s)${mermaidId(state.path)}(\\s|$)`, "m"));
    expect(text).toContain(`[*] --> ${graph.root.initial}\n`);
    expect(text).toContain(`class ${mermaidId(current)} current`);
    expect(renderMermaid(graph)).not.toContain("class ");
    // Every line is a declaration, a transition, a block edge or a class statement.
    for (const line of text.trim().split("\n").slice(1)) {
      expect(line.trim(), line).toMatch(/^(\[\*\] --> \w+|\w+ --> (\w+|\[\*\])( : .+)?|state "\w+" as \w+( \{)?|\w+|\}|classDef current .+|class [\w,]+ current)$/);
    }
  });

  it("dot: every state a node or a cluster, the current one filled", () => {
    const text = renderDot(graph, { current });
    expect(text.startsWith(`digraph "${name}" {`)).toBe(true);
    for (const state of states) {
      expect(text).toContain(state.children.length ? `subgraph "cluster_${state.path}"` : `"${state.path}" [label="${state.key}"`);
    }
    expect(text).toMatch(new RegExp(`"${current.replace(/\./g, "\\.")}" \\[label="[^"]+".*fillcolor`));
    expect(text.match(/fillcolor="#ffd54f"/g)).toHaveLength(1);
    expect(text.trimEnd().endsWith("}")).toBe(true);
  });

  it("json: the graph, with the active paths", () => {
    const json = JSON.parse(renderStatechart(graph, "json", { current })) as { id: string; current: string[]; root: unknown };
    expect(json.id).toBe(name);
    expect(json.current).toEqual([...activePaths(graph, current)]);
    expect(json.current.at(-1)).toBe(current);
  });
});

describe("graph details", () => {
  const machine = setup({ delays: { slow: 1_000 }, guards: { ok: () => true } }).createMachine({
    id: "sample",
    initial: "a",
    on: { RESET: ".a" },
    states: {
      a: { after: { slow: "b", 500: "c" }, on: { GO: { target: "b", guard: "ok" }, NOOP: {} } },
      b: { type: "parallel", states: { x: { initial: "x1", states: { x1: {} } }, y: { initial: "y1", states: { y1: {} } } } },
      c: { always: "done" },
      done: { type: "final" },
    },
  });
  const graph = statechartGraph(machine);

  it("reads delays, guards, always, internal transitions and parallel states", () => {
    const a = graph.root.children.find((s) => s.key === "a")!;
    expect(a.transitions.map((t) => [t.label, t.targets, t.guard ?? null])).toEqual(
      expect.arrayContaining([
        ["after(slow)", ["b"], null],
        ["after(500ms)", ["c"], null],
        ["GO", ["b"], "ok"],
        ["NOOP", [], null],
      ]),
    );
    expect(graph.root.children.find((s) => s.key === "b")!.type).toBe("parallel");
    expect(graph.root.children.find((s) => s.key === "c")!.transitions).toEqual([{ label: "always", kind: "always", eventType: "", targets: ["done"], guard: undefined }]);
  });

  it("marks every region of a parallel state", () => {
    const lines = renderAscii(graph, { current: "b.x.x1, b.y.y1" });
    expect(lines.filter((l) => l.current && l.kind === "state").map((l) => l.text.trim())).toEqual(["▶       x1 (initial, current)", "▶       y1 (initial, current)"]);
    expect(activePaths(graph, "b.x.x1, b.y.y1")).toEqual(new Set(["b", "b.x", "b.x.x1", "b.y", "b.y.y1"]));
    expect(activePaths(graph, "nowhere")).toEqual(new Set());
  });

  it("draws a root transition from every top-level state that is not final", () => {
    const text = renderMermaid(graph);
    expect(text).toContain("b --> a : RESET");
    expect(text).toContain("c --> a : RESET");
    expect(text).not.toContain("done --> a : RESET");
    expect(text).not.toContain("a --> a : RESET");
  });
});

describe("docs/statecharts.md", () => {
  it("holds the Mermaid of every statechart, as the code draws it today", () => {
    const doc = readFileSync(fileURLToPath(new URL("../../docs/statecharts.md", import.meta.url)), "utf8");
    for (const name of STATECHART_NAMES) expect(doc).toContain(`## ${name}\n`);
    expect(doc, "docs/statecharts.md is out of date: run `npx tsx scripts/statecharts-doc.ts`").toBe(statechartsMarkdown());
  });
});
