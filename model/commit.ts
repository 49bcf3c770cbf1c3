import { z } from "zod";
import { namespaceSpecSchema } from "./manifest.ts";

/** One placed instance as a commit records it. */
export const placementEntrySchema = z.object({
  service: z.string(),
  slot: z.number().int().nonnegative(),
  revision: z.string(),
  machine: z.string(),
  containerId: z.string(),
});
export type PlacementEntry = z.infer<typeof placementEntrySchema>;

/**
 * A deploy commit (Intent): the whole namespace spec and where every instance runs. Appended to
 * stream COMMITS on `commits.<namespace>` with the expected last sequence; history is append-only
 * and a rollback is a new commit of an older spec.
 */
export const commitSchema = z.object({
  type: z.literal("commit"),
  namespace: z.string(),
  deployId: z.string(),
  authority: z.string(),
  /** Sequence of the commit this one follows, null for the first. */
  parentSeq: z.number().int().positive().nullable(),
  spec: namespaceSpecSchema,
  revisions: z.record(z.string(), z.string()),
  placement: z.array(placementEntrySchema),
  planHash: z.string(),
  /** Set when this commit re-applies an older one's spec. */
  rollbackOf: z.number().int().positive().optional(),
  createdAt: z.string(),
});
export type Commit = z.infer<typeof commitSchema>;

/** A commit with its stream sequence, as read back. */
export type StoredCommit = Commit & { seq: number };

/** Namespace record (Intent), KV `namespaces`: who owns its writes and its head commit. */
export const namespaceRecordSchema = z.object({
  name: z.string(),
  authority: z.string(),
  headSeq: z.number().int().positive(),
  headDeployId: z.string(),
  updatedAt: z.string(),
});
export type NamespaceRecord = z.infer<typeof namespaceRecordSchema>;

/** Durable deploy phase record (Status), stream STATUS, subject `status.<ns>.deploy`. */
export const deployPhaseSchema = z.object({
  type: z.literal("deploy"),
  namespace: z.string(),
  deployId: z.string(),
  machine: z.string(),
  phase: z.string(),
  state: z.enum(["started", "ok", "failed"]),
  reason: z.string().optional(),
  at: z.string(),
});
export type DeployPhase = z.infer<typeof deployPhaseSchema>;
