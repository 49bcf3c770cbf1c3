import { Box, Text } from "ink";
import { formatAge, formatEvent, type ActorRow, type MachineView } from "../../model/top-model.ts";
import type { AsciiLine } from "../statechart/render.ts";
import { windowStart } from "./rows.ts";
import { clip, clockTime, fit } from "./text.ts";

export interface ActorDetailProps {
  actor: ActorRow;
  machine: MachineView;
  /** The actor's statechart drawn with its current state marked, or undefined if it runs none. */
  chart: AsciiLine[] | undefined;
  chartScroll: number;
  width: number;
  height: number;
}

/** The opened actor: its statechart with the current state highlighted, its context, its last events. */
export function ActorDetail({ actor, machine, chart, chartScroll, width, height }: ActorDetailProps) {
  const facts = [
    actor.state ? `state ${actor.state} for ${formatAge(actor.inStateMs)}` : undefined,
    actor.note,
    actor.restarts !== undefined ? `restarts ${actor.restarts}` : undefined,
    `status ${actor.status}`,
    actor.chart ? `chart ${actor.chart}` : undefined,
    `src ${actor.src}`,
  ].filter(Boolean);
  const context = Object.entries(actor.context ?? {}).map(([k, v]) => `${k} ${JSON.stringify(v)}`);
  const events = actor.events.length
    ? actor.events.map((e) => `${clockTime(e.at)} ${formatEvent(e.event)}${e.state ? ` → ${e.state}` : ""}`)
    : actor.lastEvent
      ? [`${formatEvent(actor.lastEvent)} (last; nothing newer since top started)`]
      : ["none yet"];
  const top = 2 + (actor.error ? 1 : 0) + (machine.reachable ? 0 : 1);
  const bodyHeight = Math.max(3, height - top);
  const wide = width >= 110;
  const sideWidth = wide ? Math.min(48, Math.floor(width * 0.38)) : width;
  const chartWidth = wide ? width - sideWidth - 2 : width;
  // Stacked: context and events get what they need, up to a third each; the chart the rest.
  const contextLines = wide ? Math.min(context.length, Math.floor((bodyHeight - 2) / 2)) : Math.min(context.length, Math.floor(bodyHeight / 4));
  const eventLines = wide ? Math.min(events.length, bodyHeight - 2 - contextLines - 1) : Math.min(events.length, Math.floor(bodyHeight / 4));
  const chartHeight = wide ? bodyHeight - 1 : Math.max(2, bodyHeight - contextLines - eventLines - 3);
  const side = (
    <Box flexDirection="column" width={sideWidth}>
      <Text bold wrap="truncate-end">{fit(`context${context.length > contextLines ? ` (${contextLines} of ${context.length})` : ""}`, sideWidth)}</Text>
      {context.length ? context.slice(0, contextLines).map((line, i) => <Text key={i} wrap="truncate-end">{clip(`  ${line}`, sideWidth)}</Text>) : <Text dimColor>  none</Text>}
      <Text bold wrap="truncate-end">{fit("last events (UTC)", sideWidth)}</Text>
      {events.slice(-Math.max(1, eventLines)).map((line, i) => <Text key={i} wrap="truncate-end">{clip(`  ${line}`, sideWidth)}</Text>)}
    </Box>
  );
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate-end">{clip(`${machine.id} › ${actor.path}`, width)}</Text>
      <Text dimColor wrap="truncate-end">{clip(facts.join(" · "), width)}</Text>
      {actor.error ? <Text color="red" wrap="truncate-end">{clip(`error: ${actor.error}`, width)}</Text> : null}
      {machine.reachable ? null : <Text color="red" wrap="truncate-end">{clip(`machine ${machine.id} is unreachable: this is its last known state`, width)}</Text>}
      <Box flexDirection={wide ? "row" : "column"}>
        <Box flexDirection="column" width={chartWidth} marginRight={wide ? 2 : 0}>
          <Text bold>statechart</Text>
          <ChartView lines={chart} scroll={chartScroll} width={chartWidth} height={chartHeight} src={actor.src} />
        </Box>
        {side}
      </Box>
    </Box>
  );
}

/** A window of the statechart's lines around the current state; the current state is highlighted. */
export function ChartView({ lines, scroll, width, height, src }: { lines: AsciiLine[] | undefined; scroll: number; width: number; height: number; src: string }) {
  if (!lines) return <Text dimColor wrap="truncate-end">{clip(`  none: ${src} is not a state machine (a promise or callback actor)`, width)}</Text>;
  const current = lines.findIndex((l) => l.current);
  const start = Math.max(0, Math.min(windowStart(lines.length, current, height) + scroll, Math.max(0, lines.length - height)));
  return (
    <Box flexDirection="column" height={height}>
      {lines.slice(start, start + height).map((line, i) => (
        <Text
          key={start + i}
          wrap="truncate-end"
          color={line.current && line.kind !== "detail" ? "black" : line.current || line.active ? "yellow" : undefined}
          backgroundColor={line.current && line.kind !== "detail" ? "yellow" : undefined}
          bold={line.kind !== "detail"}
          dimColor={!line.active && line.kind === "detail"}
        >
          {clip(line.text, width)}
        </Text>
      ))}
    </Box>
  );
}
