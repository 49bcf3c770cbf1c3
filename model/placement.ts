import { compareText } from "./compare.ts";
import type { InstanceRecord } from "./instance.ts";
import type { MachineRecord } from "./machine.ts";
import type { ServiceSpec } from "./manifest.ts";
import type { MachineView, PlanInput } from "./plan.ts";
import { DEFAULT_REGION_ROLE, type RegionRole } from "./region.ts";

/**
 * Placement: which machines may receive a new instance of a service, and which of them is best.
 * Pure: every answer comes from the data in a PlacementContext, and every rejection or choice
 * carries a sentence a human can read in `deploy --preview`.
 */

export type ReachableView = Extract<MachineView, { reachable: true }>;

/** What the machines will carry once the plan is applied, filled in while the plan is built. */
export interface Ledger {
  /** service → machine → slots of the service that machine will run (kept or created). */
  placed: Map<string, Map<string, number[]>>;
  /** machine → CPU of this namespace's instances that stay there. */
  keptCpu: Map<string, number>;
  keptMemory: Map<string, number>;
  /** machine → CPU and memory reserved by the creates of this plan. */
  plannedCpu: Map<string, number>;
  plannedMemory: Map<string, number>;
  /** machine → "8080/tcp" → the instance ("web#0") that publishes it. */
  hostPorts: Map<string, Map<string, string>>;
}

/** Everything an eligibility or ranking decision reads. */
export interface PlacementContext {
  regions: PlanInput["regions"];
  reservedElsewhere: PlanInput["reservedElsewhere"];
  /** Active members, for zone lookups. */
  machines: readonly MachineView[];
  ledger: Ledger;
}

/** CPU sums are floats; a reservation that fits up to rounding fits. */
const CPU_EPSILON = 1e-9;

export function emptyLedger(): Ledger {
  return { placed: new Map(), keptCpu: new Map(), keptMemory: new Map(), plannedCpu: new Map(), plannedMemory: new Map(), hostPorts: new Map() };
}

/** `web#0`: how an instance is named in plans and messages. */
export function instanceLabel(service: string, slot: number): string {
  return `${service}#${slot}`;
}

/** The role of a region; a region with no entry is `compute`. */
export function regionRole(regions: PlanInput["regions"], region: string): RegionRole {
  return regions[region] ?? DEFAULT_REGION_ROLE;
}

/** Slots of a service the machine will run, as far as the ledger knows. */
export function placedOn(ledger: Ledger, service: string, machine: string): number[] {
  return ledger.placed.get(service)?.get(machine) ?? [];
}

function addPlaced(ledger: Ledger, service: string, machine: string, slot: number): void {
  const byMachine = ledger.placed.get(service) ?? new Map<string, number[]>();
  byMachine.set(machine, [...(byMachine.get(machine) ?? []), slot]);
  ledger.placed.set(service, byMachine);
}

function addHostPorts(ledger: Ledger, machine: string, label: string, ports: ReadonlyArray<{ protocol: string; published?: number | undefined }>): void {
  const taken = ledger.hostPorts.get(machine) ?? new Map<string, string>();
  for (const port of ports) if (port.published !== undefined) taken.set(`${port.published}/${port.protocol}`, label);
  ledger.hostPorts.set(machine, taken);
}

const add = (map: Map<string, number>, key: string, amount: number) => map.set(key, (map.get(key) ?? 0) + amount);

/** An existing instance stays where it is: it counts for spread, CPU and host ports. */
export function recordKeep(ledger: Ledger, instance: InstanceRecord): void {
  addPlaced(ledger, instance.service, instance.machine, instance.slot);
  add(ledger.keptCpu, instance.machine, instance.resources.cpu ?? 0);
  add(ledger.keptMemory, instance.machine, instance.resources.memory ?? 0);
  addHostPorts(ledger, instance.machine, instanceLabel(instance.service, instance.slot), instance.ports);
}

/** A new instance lands on a machine: it reserves its resources and host ports there. */
export function recordCreate(ledger: Ledger, name: string, slot: number, machine: string, service: ServiceSpec): void {
  addPlaced(ledger, name, machine, slot);
  add(ledger.plannedCpu, machine, service.resources.cpu ?? 0);
  add(ledger.plannedMemory, machine, service.resources.memory ?? 0);
  addHostPorts(ledger, machine, instanceLabel(name, slot), service.ports);
}

/** Placement constraints (`placement.regions|zones|machines`) the machine does not meet. */
export function constraintMismatches(machine: MachineRecord, placement: ServiceSpec["placement"]): string[] {
  const reasons: string[] = [];
  const list = (values: string[]) => `[${values.join(", ")}]`;
  if (placement.regions && !placement.regions.includes(machine.region)) {
    reasons.push(`region ${machine.region} is not in placement.regions ${list(placement.regions)}`);
  }
  if (placement.zones && (machine.zone === undefined || !placement.zones.includes(machine.zone))) {
    reasons.push(`${machine.zone === undefined ? "no zone" : `zone ${machine.zone}`} is not in placement.zones ${list(placement.zones)}`);
  }
  if (placement.machines && !placement.machines.includes(machine.id)) {
    reasons.push(`machine ${machine.id} is not in placement.machines ${list(placement.machines)}`);
  }
  return reasons;
}

/**
 * Why an existing instance of `service` may not stay on its machine; empty when it may.
 * Neither reachability nor resources are asked: an instance that stays needs nothing new.
 */
export function reasonsToMove(view: MachineView | undefined, machineId: string, service: ServiceSpec, regions: PlanInput["regions"]): string[] {
  if (!view || view.machine.state !== "active") return [`machine ${machineId} is no longer an active member`];
  const role = regionRole(regions, view.machine.region);
  if (role === "disabled" || role === "draining") return [`region ${view.machine.region} is ${role}`];
  return constraintMismatches(view.machine, service.placement);
}

/** Why a machine may not receive a new instance of `service` now; empty when it may. */
export function rejectionReasons(view: MachineView, name: string, service: ServiceSpec, ctx: PlacementContext): string[] {
  const { machine } = view;
  const role = regionRole(ctx.regions, machine.region);
  // A disabled region is out of every decision: nothing else about the machine matters.
  if (role === "disabled") return [`region ${machine.region} is disabled`];
  const reasons: string[] = [];
  if (role === "draining") reasons.push(`region ${machine.region} is draining, no new instances`);
  if (!view.reachable) reasons.push(`unreachable: ${view.error}`);
  reasons.push(...constraintMismatches(machine, service.placement));
  if (service.mode === "global") {
    const slots = placedOn(ctx.ledger, name, machine.id);
    if (slots.length > 0) reasons.push(`already runs ${instanceLabel(name, slots[0]!)} (global: one per machine)`);
  }
  const taken = ctx.ledger.hostPorts.get(machine.id);
  for (const port of service.ports) {
    const holder = port.published === undefined ? undefined : taken?.get(`${port.published}/${port.protocol}`);
    if (holder) reasons.push(`host port ${port.published}/${port.protocol} is already published by ${holder}`);
  }
  if (view.reachable) reasons.push(...resourceShortfalls(view, service, ctx));
  return reasons;
}

function resourceShortfalls(view: ReachableView, service: ServiceSpec, ctx: PlacementContext): string[] {
  const id = view.machine.id;
  const reasons: string[] = [];
  const memory = service.resources.memory;
  if (memory !== undefined) {
    const planned = ctx.ledger.plannedMemory.get(id) ?? 0;
    const observedFree = view.capacity.memory.freeBytes - planned;
    // Reservations count even while their containers use less: otherwise memory is promised twice.
    const reserved = (ctx.reservedElsewhere[id]?.memory ?? 0) + (ctx.ledger.keptMemory.get(id) ?? 0);
    const unreserved = view.capacity.memory.totalBytes - reserved - planned;
    if (memory > observedFree) {
      const after = planned > 0 ? ` after ${formatMemory(planned)} placed by this plan` : "";
      reasons.push(`needs ${formatMemory(memory)} memory, ${formatMemory(observedFree)} free${after}`);
    } else if (memory > unreserved) {
      reasons.push(`needs ${formatMemory(memory)} memory, ${formatMemory(unreserved)} of ${formatMemory(view.capacity.memory.totalBytes)} not yet reserved`);
    }
  }
  const cpu = service.resources.cpu;
  if (cpu !== undefined) {
    const cores = view.capacity.cpu.cores;
    const parts: Array<[number, string]> = [
      [ctx.reservedElsewhere[id]?.cpu ?? 0, "reserved by other namespaces"],
      [ctx.ledger.keptCpu.get(id) ?? 0, "kept by this namespace"],
      [ctx.ledger.plannedCpu.get(id) ?? 0, "placed by this plan"],
    ];
    const free = parts.reduce((left, [used]) => left - used, cores);
    if (cpu > free + CPU_EPSILON) {
      const used = parts.filter(([n]) => n > 0).map(([n, what]) => `${formatCpu(n)} ${what}`);
      reasons.push(`needs ${formatCpu(cpu)} cpu, ${formatCpu(free)} free of ${formatCpu(cores)} cores${used.length ? ` (${used.join(", ")})` : ""}`);
    }
  }
  return reasons;
}

/** The machine chosen for one instance, why, and why each other eligible machine was not. */
export interface Choice {
  machine: string;
  reasons: string[];
  /** Eligible machines that lost, with the criterion they lost on. */
  notChosen: Map<string, string>;
}

interface Criterion {
  /** Lower is better. */
  score(view: ReachableView): number;
  won(view: ReachableView, score: number): string;
  lost(view: ReachableView, score: number, best: number): string;
}

function criteria(name: string, service: ServiceSpec, ctx: PlacementContext): Criterion[] {
  const kind = service.stateful ? "stateful" : "stateless";
  const preferred: RegionRole = service.stateful ? "home_data" : "compute";
  const zoneOf = new Map(ctx.machines.map((v) => [v.machine.id, v.machine.zone ?? ""]));
  const perZone = new Map<string, number>();
  for (const [machine, slots] of ctx.ledger.placed.get(name) ?? []) add(perZone, zoneOf.get(machine) ?? "", slots.length);
  const zoneName = (view: ReachableView) => (view.machine.zone === undefined ? "machines without a zone" : `zone ${view.machine.zone}`);
  const freeMemory = (view: ReachableView) => view.capacity.memory.freeBytes - (ctx.ledger.plannedMemory.get(view.machine.id) ?? 0);
  const role = (view: ReachableView) => regionRole(ctx.regions, view.machine.region);
  return [
    {
      score: (view) => (role(view) === preferred ? 0 : 1),
      won: () => `${preferred} region preferred for ${kind}`,
      lost: (view) => `${role(view)} region, ${preferred} preferred for ${kind}`,
    },
    {
      score: (view) => perZone.get(view.machine.zone ?? "") ?? 0,
      won: (view, n) => `${zoneName(view)} had fewest instances of ${name} (${n})`,
      lost: (view, n, best) => `${zoneName(view)} had ${instances(n)} of ${name}, another zone ${best}`,
    },
    {
      score: (view) => placedOn(ctx.ledger, name, view.machine.id).length,
      won: (_view, n) => `fewest instances of ${name} on the machine (${n})`,
      lost: (_view, n, best) => `already runs ${instances(n)} of ${name}, another machine ${best}`,
    },
    {
      score: (view) => -freeMemory(view),
      won: (view) => `most free memory (${formatMemory(freeMemory(view))})`,
      lost: (view, _n, best) => `less free memory (${formatMemory(freeMemory(view))}, another machine ${formatMemory(-best)})`,
    },
    {
      score: () => 0,
      won: () => "lowest machine id among equals",
      lost: () => "an equal machine with a lower id was chosen",
    },
  ];
}

/**
 * Picks the best of the eligible machines: preferred region role, then the zone with fewest
 * instances of the service, then the machine with fewest, then most free memory, then machine id.
 * The reasons name every criterion that narrowed the choice.
 */
export function chooseMachine(eligible: readonly ReachableView[], name: string, service: ServiceSpec, ctx: PlacementContext): Choice {
  if (eligible.length === 0) throw new Error(`chooseMachine(${name}) needs at least one eligible machine`);
  let remaining = [...eligible].sort((a, b) => compareText(a.machine.id, b.machine.id));
  if (remaining.length === 1) return { machine: remaining[0]!.machine.id, reasons: ["only eligible machine"], notChosen: new Map() };
  const reasons: string[] = [];
  const notChosen = new Map<string, string>();
  for (const [index, criterion] of criteria(name, service, ctx).entries()) {
    const isLast = index === 4;
    const scored = remaining.map((view) => ({ view, score: isLast ? 0 : criterion.score(view) }));
    const best = Math.min(...scored.map((s) => s.score));
    // The id criterion keeps only the first (lowest id) of the tied machines.
    const winners = isLast ? scored.slice(0, 1) : scored.filter((s) => s.score === best);
    if (winners.length === scored.length) continue;
    reasons.push(criterion.won(winners[0]!.view, best));
    for (const s of scored) if (!winners.includes(s)) notChosen.set(s.view.machine.id, criterion.lost(s.view, s.score, best));
    remaining = winners.map((s) => s.view);
    if (remaining.length === 1) break;
  }
  return { machine: remaining[0]!.machine.id, reasons, notChosen };
}

/** Memory as `512 MiB`, `1.5 GiB` (binary units, like the CLI). */
export function formatMemory(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(value >= 10 ? 0 : 1);
  return `${bytes < 0 ? "-" : ""}${text} ${units[unit]}`;
}

const instances = (n: number) => `${n} ${n === 1 ? "instance" : "instances"}`;

function formatCpu(cpu: number): string {
  return String(Math.round(cpu * 1000) / 1000);
}
