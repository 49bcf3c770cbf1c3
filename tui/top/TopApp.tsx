import { useApp, useInput, useStdout } from "ink";
import { useEffect, useMemo, useRef, useState } from "react";
import { topView } from "../../model/top-model.ts";
import type { TopFeed } from "../../runtime/top-feed.ts";
import { listRows } from "./rows.ts";
import { TopScreen } from "./TopScreen.tsx";
import { initialUiState, reduceKey, type KeyPress } from "./ui-state.ts";
import { TopStateProvider, useTopState } from "./use-top-state.tsx";

export interface TopAppProps {
  feed: Pick<TopFeed, "subscribe" | "getState">;
  context: string;
  /** Fixed size (tests); by default the terminal's, following resizes. */
  size?: { columns: number; rows: number };
}

/** `ployz top`: the live view, with its keys. The cluster's state comes from one subscription. */
export function TopApp(props: TopAppProps) {
  return (
    <TopStateProvider feed={props.feed}>
      <TopInteractive context={props.context} size={props.size} />
    </TopStateProvider>
  );
}

function TopInteractive({ context, size }: { context: string; size: TopAppProps["size"] }) {
  const state = useTopState();
  const { exit } = useApp();
  const terminal = useTerminalSize();
  const { columns, rows } = size ?? terminal;
  const [ui, setUi] = useState(initialUiState);
  const view = useMemo(() => topView(state.model, state.now), [state]);
  // Keys can come faster than renders: each one is applied to the state the previous one made.
  const latest = useRef({ ui, view });
  latest.current.view = view;
  useInput((input, key) => {
    const before = latest.current.ui;
    // Fast typing or a paste arrives as one string: each character is a key of its own.
    const presses: KeyPress[] = input.length > 1 && !key.ctrl && !key.meta ? [...input].map(charKey) : [{ ...key, input }];
    for (const press of presses) {
      const { ui: current, view: seen } = latest.current;
      const rows = listRows(seen, { filter: current.filter, machine: current.machine });
      const result = reduceKey(current, press, rows, seen.machines.map((m) => m.id));
      if (result.type === "quit") return exit();
      latest.current.ui = result.ui;
    }
    if (latest.current.ui !== before) setUi(latest.current.ui);
  });
  // One line short of the terminal: a frame as tall as the screen makes ink clear it on every render.
  return <TopScreen view={view} ui={ui} context={context} width={columns} height={Math.max(8, rows - 1)} />;
}

function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

function charKey(char: string): KeyPress {
  if (char === "\r" || char === "\n") return { input: "", return: true };
  if (char === "\x7f" || char === "\b") return { input: "", backspace: true };
  return { input: char };
}
