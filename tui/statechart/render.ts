import { activePaths, allStates, type StateInfo, type StatechartGraph, type TransitionInfo } from "./graph.ts";

import type { StatechartFormat } from "./formats.ts";

export { STATECHART_FORMATS, type StatechartFormat } from "./formats.ts";

export interface RenderOptions {
  /** The actor's state as `top` shows it (`running`, `leased.observing`): marked in the drawing. */
  current?: string;
}

/** One line of the ASCII drawing; `current` is the active leaf, `active` it or one of its ancestors. */
export interface AsciiLine {
  text: string;
  depth: number;
  kind: "chart" | "state" | "detail";
  active: boolean;
  current: boolean;
}

/** Renders a statechart in one of the formats, as text. */
export function renderStatechart(graph: StatechartGraph, format: StatechartFormat, options: RenderOptions = {}): string {
  switch (format) {
    case "mermaid":
      return renderMermaid(graph, options);
    case "dot":
      return renderDot(graph, options);
    case "json":
      return `${JSON.stringify({ ...graph, current: [...activePaths(graph, options.current)] }, null, 2)}\n`;
    case "ascii":
      return `${renderAscii(graph, options)
        .map((l) => l.text)
        .join("\n")}\n`;
  }
}

/** The transition as one label: `EVENT [guard]`. */
export function transitionLabel(t: TransitionInfo): string {
  return t.guard ? `${t.label} [${t.guard}]` : t.label;
}

const leafOf = (active: Set<string>): Set<string> =>
  new Set([...active].filter((path) => ![...active].some((other) => other !== path && other.startsWith(`${path}.`))));

/**
 * An indented tree: each state, what it invokes, and its transitions `EVENT [guard] → target`.
 * The current state is marked `▶` (its ancestors `▷`).
 */
export function renderAscii(graph: StatechartGraph, options: RenderOptions = {}): AsciiLine[] {
  const active = activePaths(graph, options.current);
  const leaves = leafOf(active);
  const lines: AsciiLine[] = [];
  const visit = (state: StateInfo, depth: number, parent: StateInfo | undefined) => {
    const isActive = active.has(state.path);
    const isCurrent = leaves.has(state.path);
    const marker = isCurrent ? "▶ " : isActive ? "▷ " : "  ";
    const tags = [
      parent?.initial === state.key ? "initial" : undefined,
      state.type === "final" ? "final" : undefined,
      state.type === "parallel" ? "parallel" : undefined,
      isCurrent ? "current" : undefined,
    ].filter(Boolean);
    const name = depth === 0 ? graph.id : state.key;
    lines.push({ text: `${marker}${"  ".repeat(depth)}${name}${tags.length ? ` (${tags.join(", ")})` : ""}`, depth, kind: depth === 0 ? "chart" : "state", active: isActive, current: isCurrent });
    const detail = (text: string) => lines.push({ text: `  ${"  ".repeat(depth + 1)}${text}`, depth: depth + 1, kind: "detail", active: isActive, current: isCurrent });
    for (const invoke of state.invokes) detail(`invoke ${invoke.src}`);
    for (const t of state.transitions) detail(`${transitionLabel(t)} → ${t.targets.length ? t.targets.map((p) => p || graph.id).join(", ") : "(stays)"}`);
    for (const child of state.children) visit(child, depth + 1, state);
  };
  visit(graph.root, 0, undefined);
  return lines;
}

/**
 * The edges to draw. A transition of a compound state applies in each of its states: when it
 * leads into the compound state itself (or it is the root), it is drawn from each child that is
 * not final and does not hold the target, since neither Mermaid nor dot draws an edge from a
 * composite into its own inside.
 */
function edgesOf(graph: StatechartGraph): Array<{ from: string; to: string; label: string }> {
  const edges: Array<{ from: string; to: string; label: string }> = [];
  const inside = (path: string, scope: string) => scope === "" || path === scope || path.startsWith(`${scope}.`);
  for (const state of allStates(graph)) {
    for (const t of state.transitions) {
      for (const to of t.targets) {
        const fanOut = state.path === "" || (to !== state.path && inside(to, state.path));
        const sources = fanOut ? state.children.filter((c) => c.type !== "final" && !inside(to, c.path)).map((c) => c.path) : [state.path];
        for (const from of sources) edges.push({ from, to, label: transitionLabel(t) });
      }
    }
  }
  return edges;
}

const MERMAID_RESERVED = new Set(["state", "note", "direction", "classDef", "class", "end", "style", "click", "accTitle", "accDescr"]);

/** Mermaid `stateDiagram-v2`; nested states get ids joined with `_`, so equal keys never collide. */
export function renderMermaid(graph: StatechartGraph, options: RenderOptions = {}): string {
  const idOf = (path: string) => {
    const id = path.replace(/\./g, "_");
    return MERMAID_RESERVED.has(id) ? `${id}_` : id;
  };
  const byPath = new Map(allStates(graph).map((s) => [s.path, s]));
  const parentOf = (path: string) => (path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "");
  // An edge is written in the innermost composite holding both ends (Mermaid cannot draw it otherwise).
  const scopeOf = (from: string, to: string) => {
    let scope = parentOf(from);
    while (scope && !(to === scope || to.startsWith(`${scope}.`))) scope = parentOf(scope);
    return to === scope ? parentOf(scope) : scope;
  };
  const edges = edgesOf(graph);
  const out = ["stateDiagram-v2"];
  const block = (state: StateInfo, indent: string) => {
    if (state.initial) out.push(`${indent}[*] --> ${idOf(childPath(state, state.initial))}`);
    for (const child of state.children) {
      const id = idOf(child.path);
      if (child.children.length) {
        out.push(`${indent}state "${child.key}" as ${id} {`);
        block(child, `${indent}  `);
        out.push(`${indent}}`);
      } else if (id !== child.key) {
        out.push(`${indent}state "${child.key}" as ${id}`);
      } else {
        out.push(`${indent}${id}`);
      }
    }
    for (const edge of edges) if (scopeOf(edge.from, edge.to) === state.path) out.push(`${indent}${idOf(edge.from)} --> ${idOf(edge.to)} : ${edge.label}`);
    for (const child of state.children) if (child.type === "final") out.push(`${indent}${idOf(child.path)} --> [*]`);
  };
  block(byPath.get("")!, "  ");
  const current = [...leafOf(activePaths(graph, options.current))];
  if (current.length) {
    out.push("  classDef current fill:#ffd54f,stroke:#e65100,stroke-width:3px");
    out.push(`  class ${current.map(idOf).join(",")} current`);
  }
  return `${out.join("\n")}\n`;
}

function childPath(state: StateInfo, key: string): string {
  return state.path ? `${state.path}.${key}` : key;
}

/** Graphviz dot; a compound state is a cluster with a point for its initial transition. */
export function renderDot(graph: StatechartGraph, options: RenderOptions = {}): string {
  const current = leafOf(activePaths(graph, options.current));
  const byPath = new Map(allStates(graph).map((s) => [s.path, s]));
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const initialNode = (path: string) => (path ? `${path}.__initial` : "__initial");
  const out = [`digraph ${q(graph.id)} {`, "  rankdir=LR;", "  compound=true;", `  node [shape=box, style=rounded, fontname="Helvetica"];`, `  edge [fontname="Helvetica", fontsize=10];`];
  const block = (state: StateInfo, indent: string) => {
    if (state.initial) {
      out.push(`${indent}${q(initialNode(state.path))} [shape=point, width=0.12];`);
      out.push(`${indent}${q(initialNode(state.path))} -> ${endpoint(childPath(state, state.initial))};`);
    }
    for (const child of state.children) {
      const highlight = current.has(child.path) ? `, style="rounded,filled", fillcolor="#ffd54f", penwidth=3` : "";
      if (child.children.length) {
        out.push(`${indent}subgraph ${q(`cluster_${child.path}`)} {`);
        out.push(`${indent}  label=${q(child.key)};${highlight ? ` style=filled; fillcolor="#fff3c4";` : ""}`);
        block(child, `${indent}  `);
        out.push(`${indent}}`);
      } else {
        out.push(`${indent}${q(child.path)} [label=${q(child.key)}${child.type === "final" ? ", peripheries=2" : ""}${highlight}];`);
      }
    }
  };
  // A compound end of an edge is its cluster, reached through the cluster's initial point.
  const endpoint = (path: string) => (byPath.get(path)?.children.length ? q(initialNode(path)) : q(path));
  const clusterAttr = (path: string, side: "ltail" | "lhead") => (byPath.get(path)?.children.length ? `${side}=${q(`cluster_${path}`)}` : undefined);
  block(byPath.get("")!, "  ");
  for (const edge of edgesOf(graph)) {
    const attrs = [`label=${q(edge.label)}`, clusterAttr(edge.from, "ltail"), clusterAttr(edge.to, "lhead")].filter(Boolean).join(", ");
    out.push(`  ${endpoint(edge.from)} -> ${endpoint(edge.to)} [${attrs}];`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
