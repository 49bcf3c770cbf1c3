import { Box, Text } from "ink";
import { formatAge, type TopHeader } from "../../model/top-model.ts";
import { clip, clockTime } from "./text.ts";

export interface HeaderProps {
  header: TopHeader;
  now: number;
  width: number;
  /** The CLI context (cluster) being watched. */
  context: string;
}

/** How many lines the header takes for these props. */
export function headerHeight(header: TopHeader): number {
  return header.overviewError ? 5 : 4;
}

/** The cluster at a glance: machines, regions, namespaces with head commits, work in flight. */
export function Header({ header, now, width, context }: HeaderProps) {
  const { machines } = header;
  const unreachable = machines.total - machines.reachable - machines.waiting;
  const regions = header.regions.length ? header.regions.map((r) => `${r.name}: ${r.role}`).join(" · ") : "none";
  const namespaces = header.namespaces.length ? header.namespaces.map((n) => `${n.name} #${n.headSeq}`).join(" · ") : "none";
  const deploys = header.deploys.length
    ? header.deploys.map((d) => `${d.namespace} (${d.deployId} on ${d.machine}${d.phase ? `, ${d.phase.phase} ${d.phase.state}` : ""}${d.since ? `, ${formatAge(now - Date.parse(d.since))}` : ""})`).join(" · ")
    : "none";
  const recent = header.recent.map((op) => `${op.namespace ?? op.kind} ${op.outcome} ${formatAge(op.agoMs)} ago`).join(" · ");
  const leases = header.leases.length ? header.leases.map((l) => `${l.key} → ${l.holder}`).join(" · ") : "none";
  const migrations = header.migrations.inFlight ? String(header.migrations.inFlight) : "none";
  const notes = [
    header.droppedEvents ? `${header.droppedEvents} events dropped` : "",
    header.invalidMessages ? `${header.invalidMessages} bad messages` : "",
    header.invalidRecords ? `${header.invalidRecords} unreadable records` : "",
  ].filter(Boolean);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>ployz top</Text>
        <Text dimColor>{` · ${context} · ${clockTime(now)} UTC · `}</Text>
        <Text>machines </Text>
        <Text color={unreachable ? "red" : machines.waiting ? "yellow" : "green"} bold>{`${machines.reachable}/${machines.total}`}</Text>
        <Text>{` reachable${machines.waiting ? `, ${machines.waiting} waiting` : ""}, ${machines.storage} storage`}</Text>
        {notes.length ? <Text color="yellow">{` · ${notes.join(", ")}`}</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>regions    </Text>
        {clip(regions, width)}
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>namespaces </Text>
        {clip(namespaces, width)}
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>deploys </Text>
        <Text color={header.deploys.length ? "cyan" : undefined}>{deploys}</Text>
        {recent ? <Text dimColor> · recent </Text> : null}
        {recent || null}
        <Text dimColor> · migrations </Text>
        {migrations}
        <Text dimColor> · leases </Text>
        {leases}
      </Text>
      {header.overviewError ? (
        <Text color="red" wrap="truncate-end">{`store: ${header.overviewError}${header.overviewAgeMs !== undefined ? ` (showing what was read ${formatAge(header.overviewAgeMs)} ago)` : ""}`}</Text>
      ) : null}
    </Box>
  );
}
