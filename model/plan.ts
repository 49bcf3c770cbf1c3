import type { Capacity } from "./observation.ts";
import type { InstanceRecord } from "./instance.ts";
import type { MachineRecord } from "./machine.ts";
import type { NamespaceSpec } from "./manifest.ts";
import type { RegionRole } from "./region.ts";

/** What one machine looked like when the deploy asked it, live. */
export type MachineView =
  | { machine: MachineRecord; reachable: true; capacity: Capacity }
  | { machine: MachineRecord; reachable: false; error: string };

/** Everything placement decides from. All of it is data; nothing is asked during planning. */
export interface PlanInput {
  spec: NamespaceSpec;
  /** Sequence of the namespace's head commit, null for a first deploy. */
  baseCommitSeq: number | null;
  /** The namespace's committed instances: derived from its head commit. */
  current: InstanceRecord[];
  /**
   * Committed instances whose container was seen not running (exited, dead or missing), by
   * container id, with what was seen. Any deploy replaces them. Instances on unreachable
   * machines are never here: their state is unknown.
   */
  dead: Record<string, string>;
  /** The exact image each image reference of the spec resolves to now (reference → image id). */
  images: Record<string, string>;
  /** Per machine: CPU and memory already reserved by other namespaces' instances. */
  reservedElsewhere: Record<string, { cpu: number; memory: number }>;
  /** Active members and what each said just now. */
  machines: MachineView[];
  /** Region roles; a region with no entry is `compute`. */
  regions: Record<string, RegionRole>;
}

/** One step of a plan. Apply executes exactly these. */
export type Operation =
  | { type: "create"; service: string; slot: number; revision: string; machine: string; reason: string }
  | { type: "remove"; service: string; slot: number; revision: string; machine: string; containerId: string; reason: string }
  | { type: "keep"; service: string; slot: number; revision: string; machine: string; containerId: string };

/** Why a machine was or was not chosen for a service. */
export interface CandidateExplanation {
  machine: string;
  region: string;
  zone?: string;
  eligible: boolean;
  /** Slots of this service placed on the machine by this plan (new or kept). */
  placed: number;
  reasons: string[];
}

export interface ServiceExplanation {
  service: string;
  revision: string;
  change: "new" | "changed" | "unchanged" | "removed";
  candidates: CandidateExplanation[];
}

/** The result of planning: operations to apply and the reasons behind them. */
export interface Plan {
  namespace: string;
  baseCommitSeq: number | null;
  operations: Operation[];
  explanations: ServiceExplanation[];
  /** Hash of namespace, base commit and operations: `deploy --plan HASH` applies only this. */
  hash: string;
}
