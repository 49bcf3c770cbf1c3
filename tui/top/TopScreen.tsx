import { Box } from "ink";
import type { TopView } from "../../model/top-model.ts";
import { statechartGraph } from "../statechart/graph.ts";
import { statechartNamed } from "../statechart/registry.ts";
import { renderAscii, type AsciiLine } from "../statechart/render.ts";
import { ActorDetail } from "./ActorDetail.tsx";
import { ActorList } from "./ActorList.tsx";
import { Footer } from "./Footer.tsx";
import { Header, headerHeight } from "./Header.tsx";
import { HelpView } from "./HelpView.tsx";
import { MachinePicker } from "./MachinePicker.tsx";
import { listRows } from "./rows.ts";
import { selectedRow, type UiState } from "./ui-state.ts";

export interface TopScreenProps {
  view: TopView;
  ui: UiState;
  context: string;
  width: number;
  /** Lines to use: the whole screen is exactly this tall, so ink never scrolls or clears. */
  height: number;
}

/** The statechart of a chart id, drawn with `state` marked; undefined for an actor that runs none. */
export function chartLines(chart: string | undefined, state: string | undefined): AsciiLine[] | undefined {
  const machine = chart ? statechartNamed(chart) : undefined;
  return machine ? renderAscii(statechartGraph(machine), state ? { current: state } : {}) : undefined;
}

/** The whole screen of `ployz top`, from the view of the cluster and the UI state. Pure. */
export function TopScreen({ view, ui, context, width, height }: TopScreenProps) {
  const rows = listRows(view, { filter: ui.filter, machine: ui.machine });
  const selected = selectedRow(ui, rows);
  const top = headerHeight(view.header);
  const body = Math.max(3, height - top - 1);
  let main;
  if (ui.mode === "help") main = <HelpView width={width} />;
  else if (ui.mode === "machines") main = <MachinePicker machines={view.machines} index={ui.pickerIndex} width={width} />;
  else if (ui.mode === "detail" && selected) {
    main = <ActorDetail actor={selected.actor} machine={selected.machine} chart={chartLines(selected.actor.chart, selected.actor.state)} chartScroll={ui.chartScroll} width={width} height={body} />;
  } else main = <ActorList rows={rows} selected={selected?.key} width={width} height={body} />;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header header={view.header} now={view.now} width={width} context={context} />
      <Box height={body} flexDirection="column" overflow="hidden">
        {main}
      </Box>
      <Footer ui={ui} width={width} />
    </Box>
  );
}
