import { z } from "zod";
import type { StoredHead } from "./commit.ts";
import { namespaceSpecSchema, type NamespaceSpec } from "./manifest.ts";
import type { Plan, PlanInput } from "./plan.ts";
import type { ClaimConflict } from "./route-claims.ts";
import type { RoutingRecord } from "./routing.ts";

/**
 * What a coordinator is asked to do to a namespace: deploy a spec (also a rollback, and the
 * reconciler's repairs, which deploy the head's own spec), or remove the namespace.
 */
export type DeployOperation =
  | {
      kind: "deploy";
      spec: NamespaceSpec;
      planHash?: string;
      rollbackOf?: number;
      reason?: string;
      /** Run exactly these images (reference → id) instead of what the references resolve to now: rollbacks and repairs. */
      images?: Record<string, string>;
    }
  | { kind: "remove"; reason?: string };

/** `ployz.api.deploy`: a whole namespace spec (already validated by the CLI, validated again here). */
/** How long a client waits for a deploy's reply (and a machine for the authority it forwarded one to). */
export const DEPLOY_TIMEOUT_MS = 15 * 60_000;

/** Where a coordinator reports progress: an inbox of the asking client (`_INBOX.<its prefix>.<id>`). */
export const progressInboxSchema = z.string().regex(/^_INBOX(\.[A-Za-z0-9_-]+)+$/, "must be an _INBOX subject");

export const deployRequestSchema = z
  .object({
    spec: z.unknown(),
    preview: z.boolean().default(false),
    /** Apply only if planning now gives exactly this plan (from an earlier preview). */
    planHash: z.string().regex(/^[0-9a-f]{12}$/, "must be a plan hash from --preview").optional(),
    rollbackOf: z.number().int().positive().optional(),
    /** An inbox the coordinator reports progress to (accepted, phases), so the caller can watch it live. */
    progress: progressInboxSchema.optional(),
  })
  .strict();
export type DeployRequest = z.input<typeof deployRequestSchema>;

/**
 * An operation a machine's API received for a namespace whose authority is another machine,
 * forwarded to the authority (`subjects.forwardedOperation`), which runs it as if asked itself:
 * the progress inbox is the client's, so the client follows the authority's coordinator.
 */
export const forwardedOperationSchema = z
  .object({
    type: z.literal("forwarded-operation"),
    namespace: z.string(),
    /** The machine whose API received it. */
    from: z.string(),
    operation: z.discriminatedUnion("kind", [
      z
        .object({
          kind: z.literal("deploy"),
          spec: namespaceSpecSchema,
          planHash: z.string().optional(),
          rollbackOf: z.number().int().positive().optional(),
          reason: z.string().optional(),
          images: z.record(z.string(), z.string()).optional(),
        })
        .strict(),
      z.object({ kind: z.literal("remove"), reason: z.string().optional() }).strict(),
    ]),
    preview: z.boolean(),
    progress: progressInboxSchema.optional(),
  })
  .strict()
  .refine((f) => f.operation.kind !== "deploy" || f.operation.spec.namespace === f.namespace, { message: "the spec is of another namespace" });
export type ForwardedOperation = z.infer<typeof forwardedOperationSchema>;

/** What a coordinator reports while a deploy runs. */
export const deployProgressSchema = z.discriminatedUnion("type", [
  /** From the machine whose API received it, before it forwards it to the namespace's authority `to`. */
  z.object({ type: z.literal("forwarded"), via: z.string(), to: z.string(), namespace: z.string() }),
  z.object({ type: z.literal("accepted"), deployId: z.string(), machine: z.string(), namespace: z.string() }),
  z.object({ type: z.literal("phase"), deployId: z.string(), phase: z.string(), state: z.enum(["started", "ok", "failed"]), reason: z.string().optional() }),
]);
export type DeployProgress = z.infer<typeof deployProgressSchema>;

/** What a deploy observed before planning: the head it plans from, the plan input (without the spec). */
export interface World {
  head: StoredHead | null;
  /**
   * What is not as the head says (derived records behind it, containers it does not name, the
   * dead routed): settled by a roll-forward before planning. Empty almost always.
   */
  unsettled: string[];
  planInput: Omit<PlanInput, "spec">;
  /** The routing projection of the whole cluster: who serves which hostname and path. */
  routes: RoutingRecord[];
  /** The spec's routes other namespaces have claimed (model/route-claims.ts), as of observing. */
  claimConflicts: ClaimConflict[];
  /** The directories the namespace may bind-mount (KV policy), as of observing; read only when the spec has binds. */
  bindAllowed: string[];
}

/** A candidate that was started by this deploy. */
export interface StartedCandidate {
  service: string;
  slot: number;
  revision: string;
  machine: string;
  containerId: string;
  containerName: string;
  startedAt: string;
}

/**
 * How a coordinator ended. `deployed` once the commit landed, whatever came after it (what the
 * roll-forward could not finish is in `warnings`, and the reconciler finishes it). `notes` say
 * what settling the namespace before planning did.
 */
export type DeployOutcome =
  | { type: "previewed"; namespace: string; plan: Plan; lines: string[] }
  | { type: "unchanged"; namespace: string; deployId: string; plan: Plan; lines: string[]; notes: string[]; warnings: string[] }
  | { type: "deployed"; namespace: string; deployId: string; commitSeq: number; plan: Plan; lines: string[]; notes: string[]; warnings: string[] }
  | { type: "removed"; namespace: string; deployId: string; commitSeq: number; plan: Plan; lines: string[]; notes: string[]; warnings: string[] }
  | { type: "failed"; namespace: string; deployId: string; phase: string; reason: string; code: string; hint?: string; lines: string[]; headSeq: number | null };

export const deployOutcomeSchema = z.object({ type: z.enum(["previewed", "unchanged", "deployed", "removed", "failed"]) }).passthrough();
