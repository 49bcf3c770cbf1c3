import type { ActorRow, MachineView, TopView } from "../../model/top-model.ts";

/** One line of the actor list: a machine's heading or one of its actors. */
export type ListRow = { kind: "machine"; key: string; machine: MachineView } | { kind: "actor"; key: string; actor: ActorRow; machine: MachineView };

/** The key that keeps an actor selected across updates. */
export const actorKey = (actor: Pick<ActorRow, "machine" | "sessionId">) => `${actor.machine}/${actor.sessionId}`;

/**
 * The lines of the list: every machine (or only `machine`) with its actors, keeping the actors
 * that match `filter` (in name, path, state, last event or error) and the ancestors that give
 * them their place in the tree. A machine with no match is left out while a filter is set.
 */
export function listRows(view: TopView, options: { filter?: string; machine?: string | undefined }): ListRow[] {
  const needle = options.filter?.trim().toLowerCase() ?? "";
  const rows: ListRow[] = [];
  for (const machine of view.machines) {
    if (options.machine && machine.id !== options.machine) continue;
    const actors = needle ? withAncestors(machine.actors, (a) => matches(a, needle)) : machine.actors;
    if (needle && actors.length === 0) continue;
    rows.push({ kind: "machine", key: `machine:${machine.id}`, machine });
    for (const actor of actors) rows.push({ kind: "actor", key: actorKey(actor), actor, machine });
  }
  return rows;
}

function matches(actor: ActorRow, needle: string): boolean {
  return [actor.name, actor.path, actor.state, actor.lastEvent, actor.error, actor.chart, actor.src].some((field) => field?.toLowerCase().includes(needle));
}

/** The rows that match, plus every ancestor of one, in the original order. */
function withAncestors(actors: ActorRow[], keep: (a: ActorRow) => boolean): ActorRow[] {
  const kept = new Set<number>();
  actors.forEach((actor, index) => {
    if (!keep(actor)) return;
    kept.add(index);
    // Ancestors come before, at lower depths.
    let depth = actor.depth;
    for (let i = index - 1; i >= 0 && depth > 0; i--) {
      if (actors[i]!.depth < depth) {
        kept.add(i);
        depth = actors[i]!.depth;
      }
    }
  });
  return actors.filter((_, index) => kept.has(index));
}

/** The first row of the window of `height` lines that keeps `selected` in view (centred when it can). */
export function windowStart(total: number, selected: number, height: number): number {
  if (total <= height || selected < 0) return 0;
  return Math.max(0, Math.min(selected - Math.floor(height / 2), total - height));
}
