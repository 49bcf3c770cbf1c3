import { compareText } from "./compare.ts";
import { DeployFailedError } from "./errors.ts";
import type { InstanceRecord } from "./instance.ts";
import { startOrder, type ServiceSpec } from "./manifest.ts";
import {
  chooseMachine,
  emptyLedger,
  instanceLabel,
  reasonsToMove,
  recordCreate,
  recordKeep,
  rejectionReasons,
  type PlacementContext,
  type ReachableView,
} from "./placement.ts";
import type { CandidateExplanation, MachineView, Operation, Plan, PlanInput, ServiceExplanation } from "./plan.ts";
import { serviceRevision, shortHash } from "./revision.ts";

/**
 * The deploy planner: diffs a namespace's committed instances against its new spec and places
 * what must be created. Pure and deterministic: the same input gives the same plan and hash.
 * Throws DeployFailedError when the spec cannot be placed or an unreachable machine holds an
 * instance that would have to change.
 */
export function planDeploy(input: PlanInput): Plan {
  const { spec } = input;
  assertWithinInstanceCap(input);
  const views = input.machines.filter((v) => v.machine.state === "active").sort((a, b) => compareText(a.machine.id, b.machine.id));
  const viewOf = new Map(views.map((v) => [v.machine.id, v]));
  const currentOf = groupByService(input.current);
  const order = startOrder(spec);

  // 1. What stays, what must go, which slots need a new instance — before anything is placed,
  //    so every placement sees the CPU and host ports of everything that stays.
  const diffs = order.map((name) => diffService(name, spec.services[name]!, currentOf.get(name) ?? [], viewOf, input));
  const gone = [...currentOf.keys()].filter((name) => !spec.services[name]).sort();
  for (const name of gone) for (const instance of currentOf.get(name)!) assertKnown(instance, "remove", viewOf);

  const ctx: PlacementContext = { regions: input.regions, reservedElsewhere: input.reservedElsewhere, machines: views, ledger: emptyLedger() };
  for (const diff of diffs) for (const instance of diff.keeps) recordKeep(ctx.ledger, instance);

  // 2. Place, service by service in start order.
  const placed = diffs.map((diff) => (diff.service.mode === "global" ? placeGlobal(diff, views, ctx) : placeReplicas(diff, views, ctx)));

  const keeps = diffs.flatMap((d) => d.keeps.map(keepOperation));
  const creates = placed.flatMap((p) => p.creates);
  const removes = [
    ...gone.flatMap((name) => currentOf.get(name)!.map((i) => removeOperation(i, "service removed from the spec"))),
    ...[...placed].reverse().flatMap((p) => p.removes),
  ];
  const operations = [...keeps, ...creates, ...removes];
  const explanations = [...placed.map((p) => p.explanation), ...gone.map((name) => removedExplanation(name, currentOf.get(name)!, views))];
  return { namespace: spec.namespace, baseCommitSeq: input.baseCommitSeq, operations, explanations, hash: planHash(spec.namespace, input.baseCommitSeq, operations) };
}

/**
 * The plan of `namespace rm`: every instance the head names goes. An instance on an unreachable
 * machine cannot be removed (its state is unknown), so the removal fails, naming it.
 */
export function planRemoval(namespace: string, input: Omit<PlanInput, "spec">): Plan {
  const viewOf = new Map(input.machines.map((v) => [v.machine.id, v]));
  for (const instance of input.current) assertKnown(instance, "remove", viewOf);
  const operations = [...input.current]
    .sort((a, b) => compareText(a.service, b.service) || a.slot - b.slot)
    .map((i) => removeOperation(i, "the namespace is removed"));
  return { namespace, baseCommitSeq: input.baseCommitSeq, operations, explanations: [], hash: planHash(namespace, input.baseCommitSeq, operations) };
}

/** The most instances one namespace may have: planning and a commit record stay small and quick. */
export const MAX_INSTANCES_PER_NAMESPACE = 1_000;

/** Refuses, before any placement work, a spec that would run more instances than the cap. */
function assertWithinInstanceCap(input: PlanInput): void {
  const active = input.machines.filter((v) => v.machine.state === "active").length;
  let total = 0;
  const parts: string[] = [];
  for (const [name, service] of Object.entries(input.spec.services)) {
    const count = service.mode === "global" ? active : service.replicas;
    total += count;
    parts.push(`${name}: ${count}`);
  }
  if (total > MAX_INSTANCES_PER_NAMESPACE) {
    throw new DeployFailedError(`namespace ${input.spec.namespace} would run ${total} instances (${parts.join(", ")}); at most ${MAX_INSTANCES_PER_NAMESPACE} per namespace`, {
      hint: "split the services over several namespaces, or lower replicas",
    });
  }
}

/** The revision a service gets now: its spec and the exact image its reference resolves to. */
export function revisionFor(name: string, service: ServiceSpec, images: PlanInput["images"]): string {
  const imageId = images[service.image];
  if (imageId === undefined) throw new DeployFailedError(`service ${name}: image ${service.image} was not resolved before planning`);
  return serviceRevision(service, imageId);
}

/** The hash `deploy --plan HASH` checks: namespace, base commit and operations, not their reasons. */
export function planHash(namespace: string, baseCommitSeq: number | null, operations: readonly Operation[]): string {
  const bare = operations.map((op) => {
    if (op.type === "keep") return op;
    const { reason: _reason, ...rest } = op;
    return rest;
  });
  return shortHash({ namespace, baseCommitSeq, operations: bare });
}

/** A slot that needs a new instance, and the old one it replaces, if any. */
interface PendingCreate {
  slot: number;
  replaces?: InstanceRecord;
  /** Set when an unchanged instance has to leave its machine. */
  movedBecause?: string;
  /** Set when the instance it replaces is dead (what was seen of its container). */
  deadBecause?: string;
}

interface ServiceDiff {
  name: string;
  service: ServiceSpec;
  revision: string;
  change: ServiceExplanation["change"];
  keeps: InstanceRecord[];
  /** Replicated: slots to create. Global: decided at placement. */
  creates: PendingCreate[];
  /** Removes without a replacement slot (scale-down, duplicates); global: every instance not kept. */
  removes: Array<{ instance: InstanceRecord; reason: string }>;
}

function diffService(name: string, service: ServiceSpec, current: InstanceRecord[], viewOf: Map<string, MachineView>, input: PlanInput): ServiceDiff {
  const revision = revisionFor(name, service, input.images);
  const global = service.mode === "global";
  const deadWhy = (i: InstanceRecord) => input.dead[i.containerId];
  const unchanged =
    current.length > 0 &&
    current.every((i) => i.revision === revision && deadWhy(i) === undefined) &&
    (global || (current.length === service.replicas && current.every((i, index) => i.slot === index)));
  const diff: ServiceDiff = { name, service, revision, change: current.length === 0 ? "new" : unchanged ? "unchanged" : "changed", keeps: [], creates: [], removes: [] };
  const whyMove = (i: InstanceRecord) => reasonsToMove(viewOf.get(i.machine), i.machine, service, input.regions).join(", ");
  // Why an instance of the current revision cannot stay: it died, or its machine no longer fits.
  const whyReplace = (i: InstanceRecord) => {
    const dead = deadWhy(i);
    return dead === undefined ? whyMove(i) : `its container ${dead}`;
  };

  if (global) {
    const kept = new Set<string>();
    for (const instance of current) {
      const why = instance.revision === revision ? whyReplace(instance) : `replaced by rev ${revision}`;
      if (why === "" && !kept.has(instance.machine)) {
        kept.add(instance.machine);
        diff.keeps.push(instance);
      } else {
        diff.removes.push({ instance, reason: why || `duplicate on ${instance.machine} (global: one per machine)` });
      }
    }
  } else {
    const bySlot = new Map<number, InstanceRecord>();
    for (const instance of current) {
      if (instance.slot >= service.replicas) diff.removes.push({ instance, reason: `scaled down to ${service.replicas} ${service.replicas === 1 ? "replica" : "replicas"}` });
      else if (bySlot.has(instance.slot)) diff.removes.push({ instance, reason: `duplicate of ${instanceLabel(name, instance.slot)}` });
      else bySlot.set(instance.slot, instance);
    }
    for (let slot = 0; slot < service.replicas; slot++) {
      const old = bySlot.get(slot);
      const dead = old && old.revision === revision ? deadWhy(old) : undefined;
      const why = old && old.revision === revision && dead === undefined ? whyMove(old) : undefined;
      if (!old) diff.creates.push({ slot });
      else if (why === "") diff.keeps.push(old);
      else if (dead !== undefined) diff.creates.push({ slot, replaces: old, deadBecause: dead });
      else diff.creates.push(why === undefined ? { slot, replaces: old } : { slot, replaces: old, movedBecause: why });
    }
  }
  for (const { instance } of diff.removes) assertKnown(instance, "remove", viewOf);
  for (const { replaces, movedBecause } of diff.creates) if (replaces) assertKnown(replaces, movedBecause ? "move" : "replace", viewOf);
  return diff;
}

/** An instance on an unreachable machine cannot be changed: what runs there is unknown. */
function assertKnown(instance: InstanceRecord, verb: "remove" | "replace" | "move", viewOf: Map<string, MachineView>): void {
  const view = viewOf.get(instance.machine);
  if (view && !view.reachable) {
    throw new DeployFailedError(
      `cannot ${verb} ${instanceLabel(instance.service, instance.slot)} on ${instance.machine}: the machine is unreachable (${view.error}), so the state of its instances is unknown`,
      { hint: `bring ${instance.machine} back, or remove it from the cluster, then deploy again` },
    );
  }
}

interface PlacedService {
  creates: Operation[];
  removes: Operation[];
  explanation: ServiceExplanation;
}

/** Notes on every active machine for one service, turned into its explanation at the end. */
class Notes {
  private readonly byMachine = new Map<string, { eligible: boolean; verdict: string[]; notes: string[] }>();

  constructor(private readonly views: readonly MachineView[]) {
    for (const v of views) this.byMachine.set(v.machine.id, { eligible: false, verdict: [], notes: [] });
  }

  /** Records one evaluation (the rejections, none if eligible); the last one is what the explanation shows. */
  evaluated(machine: string, rejections: string[]): void {
    const entry = this.byMachine.get(machine)!;
    entry.eligible = rejections.length === 0;
    entry.verdict = rejections;
  }

  /** An eligible machine that lost the last choice: it stays eligible, and says what it lost on. */
  notChosen(machine: string, why: string): void {
    this.byMachine.get(machine)!.verdict = [why];
  }

  note(machine: string, text: string): void {
    this.byMachine.get(machine)?.notes.push(text);
  }

  explain(diff: ServiceDiff, ctx: PlacementContext): ServiceExplanation {
    const placedOn = ctx.ledger.placed.get(diff.name);
    const candidates = this.views.map((v): CandidateExplanation => {
      const entry = this.byMachine.get(v.machine.id)!;
      const base = { machine: v.machine.id, region: v.machine.region, ...(v.machine.zone === undefined ? {} : { zone: v.machine.zone }) };
      return { ...base, eligible: entry.eligible, placed: placedOn?.get(v.machine.id)?.length ?? 0, reasons: [...entry.notes, ...entry.verdict] };
    });
    return { service: diff.name, revision: diff.revision, change: diff.change, candidates };
  }
}

/** Evaluates every active machine for a new instance: machine id → why it may not take one (empty if it may). */
function evaluate(diff: ServiceDiff, views: readonly MachineView[], ctx: PlacementContext, notes: Notes): Map<string, string[]> {
  const rejections = new Map<string, string[]>();
  for (const view of views) {
    const reasons = rejectionReasons(view, diff.name, diff.service, ctx);
    rejections.set(view.machine.id, reasons);
    notes.evaluated(view.machine.id, reasons);
  }
  return rejections;
}

function eligibleViews(views: readonly MachineView[], rejections: Map<string, string[]>): ReachableView[] {
  return views.filter((v): v is ReachableView => v.reachable && rejections.get(v.machine.id)!.length === 0);
}

function cannotPlace(what: string, views: readonly MachineView[], rejections: Map<string, string[]>): DeployFailedError {
  const why = views.length === 0 ? "no active machines" : views.map((v) => `${v.machine.id}: ${rejections.get(v.machine.id)!.join(", ")}`).join("; ");
  return new DeployFailedError(`cannot place ${what}: ${why}`, {
    hint: "add machines or capacity, change region roles, or relax the service's placement, resources or replicas",
  });
}

function placeReplicas(diff: ServiceDiff, views: readonly MachineView[], ctx: PlacementContext): PlacedService {
  const notes = new Notes(views);
  for (const instance of diff.keeps) notes.note(instance.machine, `keeps ${instanceLabel(diff.name, instance.slot)}`);
  const creates: Operation[] = [];
  const removes: Operation[] = [];
  for (const pending of diff.creates) {
    const label = instanceLabel(diff.name, pending.slot);
    const rejections = evaluate(diff, views, ctx, notes);
    const eligible = eligibleViews(views, rejections);
    if (eligible.length === 0) throw cannotPlace(label, views, rejections);
    const choice = chooseMachine(eligible, diff.name, diff.service, ctx);
    recordCreate(ctx.ledger, diff.name, pending.slot, choice.machine, diff.service);
    notes.note(choice.machine, `${label}: ${choice.reasons.join(", ")}`);
    for (const [machine, why] of choice.notChosen) notes.notChosen(machine, `${label} not placed here: ${why}`);
    const old = pending.replaces;
    const before = old && pending.movedBecause ? `moved from ${old.machine} (${pending.movedBecause}); ` : old && pending.deadBecause ? `replaces a dead instance (its container ${pending.deadBecause}); ` : "";
    creates.push(createOperation(diff, pending.slot, choice.machine, `${before}${choice.reasons.join(", ")}`));
    if (old) {
      const reason = pending.movedBecause
        ? `moved to ${choice.machine}: ${pending.movedBecause}`
        : pending.deadBecause
          ? `its container ${pending.deadBecause}; replaced on ${choice.machine}`
          : `replaced by rev ${diff.revision} on ${choice.machine}`;
      removes.push(removeOperation(old, reason));
    }
  }
  // A service with nothing to place is still explained: could each machine take one more?
  if (diff.creates.length === 0) evaluate(diff, views, ctx, notes);
  removes.push(...diff.removes.map(({ instance, reason }) => removeOperation(instance, reason)));
  return { creates, removes: sortBySlot(removes), explanation: notes.explain(diff, ctx) };
}

function placeGlobal(diff: ServiceDiff, views: readonly MachineView[], ctx: PlacementContext): PlacedService {
  const notes = new Notes(views);
  for (const instance of diff.keeps) notes.note(instance.machine, `keeps ${instanceLabel(diff.name, instance.slot)}`);
  // Per-machine limits only: a create on one machine never changes another's eligibility.
  const rejections = evaluate(diff, views, ctx, notes);
  const targets = eligibleViews(views, rejections).map((v) => v.machine.id);
  if (targets.length === 0 && diff.keeps.length === 0) throw cannotPlace(`global service ${diff.name}`, views, rejections);

  // Slots: a replacement reuses the slot of the instance it replaces on that machine; others take the lowest free.
  const used = new Set(diff.keeps.map((i) => i.slot));
  const slotOf = new Map<string, number>();
  for (const { instance } of diff.removes) {
    if (targets.includes(instance.machine) && !slotOf.has(instance.machine) && !used.has(instance.slot)) {
      slotOf.set(instance.machine, instance.slot);
      used.add(instance.slot);
    }
  }
  let next = 0;
  for (const machine of targets) {
    if (slotOf.has(machine)) continue;
    while (used.has(next)) next++;
    slotOf.set(machine, next);
    used.add(next);
  }

  const creates: Operation[] = [];
  for (const machine of targets) {
    const slot = slotOf.get(machine)!;
    recordCreate(ctx.ledger, diff.name, slot, machine, diff.service);
    const label = instanceLabel(diff.name, slot);
    notes.note(machine, `${label}: global, one on every eligible machine`);
    creates.push(createOperation(diff, slot, machine, "global: one on every eligible machine"));
  }
  const removes = diff.removes.map(({ instance, reason }) => {
    const replaced = targets.includes(instance.machine) && instance.revision !== diff.revision;
    const why = replaced ? `replaced by rev ${diff.revision} on ${instance.machine}` : instance.revision === diff.revision ? reason : notReplacedReason(instance, rejections);
    return removeOperation(instance, why);
  });
  return { creates: sortBySlot(creates), removes: sortBySlot(removes), explanation: notes.explain(diff, ctx) };
}

function notReplacedReason(instance: InstanceRecord, rejections: Map<string, string[]>): string {
  const why = rejections.get(instance.machine);
  return why && why.length > 0 ? `not replaced, ${instance.machine} is no longer eligible: ${why.join(", ")}` : `machine ${instance.machine} is no longer an active member`;
}

function removedExplanation(name: string, instances: InstanceRecord[], views: readonly MachineView[]): ServiceExplanation {
  const candidates = views.map((v): CandidateExplanation => {
    const here = instances.filter((i) => i.machine === v.machine.id).map((i) => `removes ${instanceLabel(name, i.slot)}`);
    const base = { machine: v.machine.id, region: v.machine.region, ...(v.machine.zone === undefined ? {} : { zone: v.machine.zone }) };
    return { ...base, eligible: false, placed: 0, reasons: ["service removed from the spec", ...here] };
  });
  return { service: name, revision: instances[0]!.revision, change: "removed", candidates };
}

function createOperation(diff: ServiceDiff, slot: number, machine: string, reason: string): Operation {
  return { type: "create", service: diff.name, slot, revision: diff.revision, machine, reason };
}

function removeOperation(i: InstanceRecord, reason: string): Operation {
  return { type: "remove", service: i.service, slot: i.slot, revision: i.revision, machine: i.machine, containerId: i.containerId, reason };
}

function keepOperation(i: InstanceRecord): Operation {
  return { type: "keep", service: i.service, slot: i.slot, revision: i.revision, machine: i.machine, containerId: i.containerId };
}

function sortBySlot(ops: Operation[]): Operation[] {
  return [...ops].sort((a, b) => a.slot - b.slot || compareText(a.machine, b.machine));
}

/** Current instances by service, each list in slot order (then machine, container) so input order never matters. */
function groupByService(current: readonly InstanceRecord[]): Map<string, InstanceRecord[]> {
  const sorted = [...current].sort(
    (a, b) => compareText(a.service, b.service) || a.slot - b.slot || compareText(a.machine, b.machine) || compareText(a.containerId, b.containerId),
  );
  const groups = new Map<string, InstanceRecord[]>();
  for (const instance of sorted) groups.set(instance.service, [...(groups.get(instance.service) ?? []), instance]);
  return groups;
}
