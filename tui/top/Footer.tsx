import { Text } from "ink";
import type { UiState } from "./ui-state.ts";
import { clip } from "./text.ts";

const HINTS: Record<UiState["mode"], string> = {
  list: "↑↓/jk move · enter open · / filter · m machine · ? help · q quit",
  filter: "type to filter · enter keep · esc clear",
  detail: "esc back · ↑↓ scroll chart · ? help · q quit",
  help: "any key: back · q quit",
  machines: "↑↓ choose · enter pick · esc cancel",
};

/** The last line: the keys that work now, the filter being typed, the machine shown. */
export function Footer({ ui, width }: { ui: UiState; width: number }) {
  const scope = [ui.machine ? `machine ${ui.machine}` : "", ui.filter && ui.mode !== "filter" ? `filter "${ui.filter}"` : ""].filter(Boolean).join(" · ");
  if (ui.mode === "filter") {
    return (
      <Text wrap="truncate-end">
        <Text color="cyan">{`/${ui.filter}`}</Text>
        <Text inverse> </Text>
        <Text dimColor>{clip(`  ${HINTS.filter}`, Math.max(0, width - ui.filter.length - 2))}</Text>
      </Text>
    );
  }
  return (
    <Text wrap="truncate-end">
      {scope ? <Text color="cyan">{`${scope} · `}</Text> : null}
      <Text dimColor>{clip(HINTS[ui.mode], Math.max(0, width - (scope ? scope.length + 3 : 0)))}</Text>
    </Text>
  );
}
