import { Box, Text } from "ink";
import { formatAge, formatEvent, machineHealth, meshHealth, type ActorRow, type MachineView } from "../../model/top-model.ts";
import { windowStart, type ListRow } from "./rows.ts";
import { clip, fit } from "./text.ts";

export interface ActorListProps {
  rows: readonly ListRow[];
  /** Key of the selected actor row. */
  selected: string | undefined;
  width: number;
  /** Lines available, the column titles included. */
  height: number;
}

/** Column widths for a terminal `width` wide; the last column takes what is left. */
export function columns(width: number) {
  const name = Math.max(16, Math.min(40, Math.floor(width * 0.32)));
  const state = Math.max(10, Math.min(22, Math.floor(width * 0.18)));
  const time = 8;
  const restarts = 3;
  const rest = Math.max(0, width - name - state - time - restarts - 4);
  return { name, state, time, restarts, rest };
}

const SEVERITY_COLOR = { ok: undefined, warn: "yellow", error: "red", done: undefined } as const;

/** Every machine with its tree of actors: state, time in state, restarts, last event or error. */
export function ActorList({ rows, selected, width, height }: ActorListProps) {
  const c = columns(width);
  const bodyHeight = Math.max(1, height - 1);
  const selectedIndex = rows.findIndex((r) => r.key === selected);
  const start = windowStart(rows.length, selectedIndex, bodyHeight);
  const visible = rows.slice(start, start + bodyHeight);
  const titles = `${fit("ACTOR", c.name)} ${fit("STATE", c.state)} ${fit("IN STATE", c.time)} ${fit("RST", c.restarts)} ${fit("LAST EVENT / ERROR", c.rest)}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold dimColor wrap="truncate-end">
        {titles}
      </Text>
      {rows.length === 0 ? <Text dimColor>reading the cluster's members, then asking each for its actors…</Text> : null}
      {visible.map((row) =>
        row.kind === "machine" ? (
          <MachineHeading key={row.key} machine={row.machine} width={width} />
        ) : (
          <ActorLine key={row.key} actor={row.actor} stale={!row.machine.reachable} selected={row.key === selected} width={width} />
        ),
      )}
    </Box>
  );
}

/** A machine's line: name, region, storage, whether it is still publishing, and its WireGuard peers. */
export function MachineHeading({ machine, width }: { machine: MachineView; width: number }) {
  const where = [machine.region, machine.storage ? "storage" : undefined, machine.member ? undefined : "not a member"].filter(Boolean).join(", ");
  const title = `■ ${machine.id}${where ? ` (${where})` : ""} — `;
  const health = machineHealth(machine);
  const mesh = meshHealth(machine);
  const meshText = mesh ? ` · ${mesh}` : "";
  const color = machine.liveness === "live" ? "green" : machine.liveness === "waiting" ? "yellow" : "red";
  const meshColor = !machine.reachable ? undefined : machine.mesh && machine.mesh.up < machine.mesh.peers ? "yellow" : undefined;
  const room = Math.max(0, width - title.length);
  return (
    <Text wrap="truncate-end">
      <Text bold>{title}</Text>
      <Text color={color} bold={machine.liveness === "unreachable"}>
        {meshText ? clip(health, room) : fit(health, room)}
      </Text>
      {meshText ? (
        <Text color={meshColor} dimColor={!machine.reachable}>
          {fit(meshText, Math.max(0, room - health.length))}
        </Text>
      ) : null}
    </Text>
  );
}


/** One actor's line. On an unreachable machine it is dim: the last known, not the current, state. */
export function ActorLine({ actor, stale, selected, width }: { actor: ActorRow; stale: boolean; selected: boolean; width: number }) {
  const c = columns(width);
  const color = stale ? undefined : SEVERITY_COLOR[actor.severity];
  const state = actor.state ?? actor.status;
  const restarts = actor.restarts === undefined ? "" : String(actor.restarts);
  const tail = actor.error ? `✗ ${actor.error}` : (actor.note ?? (actor.lastEvent ? formatEvent(actor.lastEvent) : ""));
  return (
    <Text wrap="truncate-end" inverse={selected} dimColor={stale || actor.severity === "done"}>
      {fit(`${actor.prefix}${actor.name}`, c.name)} <Text color={color}>{fit(state, c.state)}</Text> {fit(formatAge(actor.inStateMs), c.time)}{" "}
      <Text color={actor.restarts ? "yellow" : undefined}>{fit(restarts, c.restarts)}</Text> <Text color={actor.error && !stale ? "red" : undefined}>{fit(tail, c.rest)}</Text>
    </Text>
  );
}
