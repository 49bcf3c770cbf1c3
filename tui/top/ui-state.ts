import type { ListRow } from "./rows.ts";

/** What the person at the keyboard has chosen; the cluster's state is elsewhere (TopModel). */
export interface UiState {
  mode: "list" | "filter" | "detail" | "help" | "machines";
  /** The selected actor (`machine/sessionId`), kept across updates. */
  selected: string | undefined;
  filter: string;
  /** Only this machine, or every one. */
  machine: string | undefined;
  /** Highlighted line of the machine picker: 0 is "every machine". */
  pickerIndex: number;
  /** Lines the opened actor's statechart is scrolled by. */
  chartScroll: number;
}

export const initialUiState: UiState = { mode: "list", selected: undefined, filter: "", machine: undefined, pickerIndex: 0, chartScroll: 0 };

/** The keys `top` reacts to, as ink's useInput reports them. */
export interface KeyPress {
  input: string;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

/** What a key press asks for: a new UI state, or quitting. */
export type KeyResult = { type: "ui"; ui: UiState } | { type: "quit" };

/** The actor rows that can be selected, in order. */
export function selectable(rows: readonly ListRow[]): Extract<ListRow, { kind: "actor" }>[] {
  return rows.filter((r): r is Extract<ListRow, { kind: "actor" }> => r.kind === "actor");
}

/** The selected actor row: the remembered one, or else the first. */
export function selectedRow(ui: UiState, rows: readonly ListRow[]): Extract<ListRow, { kind: "actor" }> | undefined {
  const actors = selectable(rows);
  return actors.find((r) => r.key === ui.selected) ?? actors[0];
}

/**
 * The key handling of `top`, as a pure function of the UI state, the key and the rows on screen.
 * `q` quits from anywhere but the filter prompt (where it is a letter); escape steps back.
 */
export function reduceKey(ui: UiState, key: KeyPress, rows: readonly ListRow[], machines: readonly string[]): KeyResult {
  const next = (patch: Partial<UiState>): KeyResult => ({ type: "ui", ui: { ...ui, ...patch } });
  if (key.ctrl && key.input === "c") return { type: "quit" };

  if (ui.mode === "filter") {
    if (key.return) return next({ mode: "list" });
    if (key.escape) return next({ mode: "list", filter: "" });
    if (key.backspace || key.delete) return next({ filter: ui.filter.slice(0, -1) });
    if (key.input && !key.ctrl && !key.meta && !isArrow(key)) return next({ filter: ui.filter + key.input });
    return { type: "ui", ui };
  }
  if (key.input === "q") return { type: "quit" };

  switch (ui.mode) {
    case "help":
      return next({ mode: "list" });
    case "machines": {
      const count = machines.length + 1;
      if (up(key)) return next({ pickerIndex: (ui.pickerIndex - 1 + count) % count });
      if (down(key)) return next({ pickerIndex: (ui.pickerIndex + 1) % count });
      if (key.return) return next({ mode: "list", machine: ui.pickerIndex === 0 ? undefined : machines[ui.pickerIndex - 1] });
      if (key.escape || key.input === "m") return next({ mode: "list" });
      return { type: "ui", ui };
    }
    case "detail":
      if (key.escape || key.leftArrow || key.backspace || key.delete) return next({ mode: "list", chartScroll: 0 });
      if (up(key)) return next({ chartScroll: Math.max(0, ui.chartScroll - 1) });
      if (down(key)) return next({ chartScroll: ui.chartScroll + 1 });
      if (key.input === "?") return next({ mode: "help" });
      return { type: "ui", ui };
    case "list": {
      const actors = selectable(rows);
      const current = Math.max(0, actors.findIndex((r) => r.key === ui.selected));
      const move = (by: number) => {
        const target = actors[Math.max(0, Math.min(actors.length - 1, current + by))];
        return next({ selected: target?.key });
      };
      if (up(key)) return move(-1);
      if (down(key)) return move(1);
      if (key.pageUp) return move(-10);
      if (key.pageDown) return move(10);
      if (key.input === "g") return next({ selected: actors[0]?.key });
      if (key.input === "G") return next({ selected: actors.at(-1)?.key });
      if ((key.return || key.rightArrow) && actors.length) return next({ mode: "detail", selected: (actors[current] ?? actors[0])!.key, chartScroll: 0 });
      if (key.input === "/") return next({ mode: "filter" });
      if (key.input === "m") return next({ mode: "machines", pickerIndex: ui.machine ? machines.indexOf(ui.machine) + 1 : 0 });
      if (key.input === "?") return next({ mode: "help" });
      if (key.escape) return next({ filter: "", machine: undefined });
      return { type: "ui", ui };
    }
  }
}

function isArrow(key: KeyPress): boolean {
  return Boolean(key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown);
}
const up = (key: KeyPress) => Boolean(key.upArrow) || key.input === "k";
const down = (key: KeyPress) => Boolean(key.downArrow) || key.input === "j";
