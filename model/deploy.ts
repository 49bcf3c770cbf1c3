import { z } from "zod";
import type { Plan, PlanInput } from "./plan.ts";
import type { RoutingRecord } from "./routing.ts";

/** `ployz.api.deploy`: a whole namespace spec (already validated by the CLI, validated again here). */
export const deployRequestSchema = z
  .object({
    spec: z.unknown(),
    preview: z.boolean().default(false),
    /** Apply only if planning now gives exactly this plan (from an earlier preview). */
    planHash: z.string().regex(/^[0-9a-f]{12}$/, "must be a plan hash from --preview").optional(),
    rollbackOf: z.number().int().positive().optional(),
    /** An inbox the coordinator reports progress to (accepted, phases), so the caller can watch it live. */
    progress: z.string().regex(/^_INBOX\.[A-Za-z0-9]+$/, "must be an _INBOX subject").optional(),
  })
  .strict();
export type DeployRequest = z.input<typeof deployRequestSchema>;

/** What a coordinator reports while a deploy runs. */
export const deployProgressSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("accepted"), deployId: z.string(), machine: z.string(), namespace: z.string() }),
  z.object({ type: z.literal("phase"), deployId: z.string(), phase: z.string(), state: z.enum(["started", "ok", "failed"]), reason: z.string().optional() }),
]);
export type DeployProgress = z.infer<typeof deployProgressSchema>;

/** A container of the namespace that no commit knows about (its deploy never committed). */
export interface Orphan {
  machine: string;
  containerId: string;
  name: string;
  deployId: string;
}

/** What a deploy observed before planning: the plan input (without the spec) and the orphans. */
export interface World {
  planInput: Omit<PlanInput, "spec">;
  orphans: Orphan[];
  /** The routing projection of the whole cluster: who serves which hostname and path. */
  routes: RoutingRecord[];
}

/** A candidate that was started by this deploy. */
export interface StartedCandidate {
  service: string;
  slot: number;
  revision: string;
  machine: string;
  containerId: string;
  containerName: string;
  address?: string;
}

export type DeployOutcome =
  | { type: "previewed"; namespace: string; plan: Plan; lines: string[] }
  | { type: "unchanged"; namespace: string; deployId: string; plan: Plan; lines: string[] }
  | { type: "deployed"; namespace: string; deployId: string; commitSeq: number; plan: Plan; lines: string[]; warnings: string[] }
  | { type: "failed"; namespace: string; deployId: string; phase: string; reason: string; code: string; lines: string[] };

export const deployOutcomeSchema = z.object({ type: z.enum(["previewed", "unchanged", "deployed", "failed"]) }).passthrough();
