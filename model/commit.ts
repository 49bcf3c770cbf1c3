import { z } from "zod";
import { namespaceSpecSchema } from "./manifest.ts";

/** One placed instance as a commit records it: everything the derived instance record needs. */
export const placementEntrySchema = z.object({
  service: z.string(),
  slot: z.number().int().nonnegative(),
  revision: z.string(),
  machine: z.string(),
  containerId: z.string(),
  /** The deploy that started the container (kept instances keep theirs). Absent in schema-1 commits. */
  deployId: z.string().optional(),
  containerName: z.string().optional(),
  startedAt: z.string().optional(),
});
export type PlacementEntry = z.infer<typeof placementEntrySchema>;

/**
 * A deploy commit (Intent): the whole namespace spec and where every instance runs. Appended to
 * stream COMMITS on `commits.<namespace>` expecting the committing holder's fence as the last
 * record: this single write is the point of no return, and everything else (instance records,
 * routing, the namespace record, draining) is derived from the head commit by an idempotent
 * roll-forward. History is append-only; a rollback is a new commit of an older spec.
 */
export const commitSchema = z.object({
  type: z.literal("commit"),
  namespace: z.string(),
  deployId: z.string(),
  authority: z.string(),
  /** Sequence of the commit this one follows, null for the first. */
  parentSeq: z.number().int().positive().nullable(),
  /** The fence this commit was made under (its holder's token). Absent in schema-1 commits. */
  fenceSeq: z.number().int().positive().optional(),
  spec: namespaceSpecSchema,
  revisions: z.record(z.string(), z.string()),
  /** The exact image each reference ran as (reference → image id). Absent in schema-1 commits. */
  images: z.record(z.string(), z.string()).optional(),
  placement: z.array(placementEntrySchema),
  planHash: z.string(),
  /** Set when this commit re-applies an older one's spec. */
  rollbackOf: z.number().int().positive().optional(),
  /** Why the deploy ran when nobody typed `deploy` (e.g. `reconcile: web#0 exited`). */
  reason: z.string().optional(),
  createdAt: z.string(),
});
export type Commit = z.infer<typeof commitSchema>;

/**
 * `ployzctl namespace rm`: the namespace's last commit. Its roll-forward removes every instance,
 * route and hostname claim; the history before it stays. A later deploy starts the namespace again.
 */
export const removalSchema = z.object({
  type: z.literal("removal"),
  namespace: z.string(),
  deployId: z.string(),
  authority: z.string(),
  parentSeq: z.number().int().positive().nullable(),
  fenceSeq: z.number().int().positive(),
  createdAt: z.string(),
});
export type Removal = z.infer<typeof removalSchema>;

/**
 * A fence (coordination): appended by whoever takes the namespace's lease, expecting the subject's
 * last sequence, so its own sequence is a token that only the newest holder has. A commit is made
 * under a fence; a write made with an older token is refused (see model/fencing.ts).
 */
export const fenceSchema = z.object({
  type: z.literal("fence"),
  namespace: z.string(),
  /** Who took the lease: a deploy id, or `reconcile-…` for the reconciler. */
  deployId: z.string(),
  holder: z.string(),
  /** The head commit (or removal) when the fence was set, null before the first commit. */
  headSeq: z.number().int().positive().nullable(),
  at: z.string(),
});
export type Fence = z.infer<typeof fenceSchema>;

/** Anything on `commits.<namespace>`. */
export const commitsRecordSchema = z.discriminatedUnion("type", [commitSchema, removalSchema, fenceSchema]);
export type CommitsRecord = z.infer<typeof commitsRecordSchema>;

/** A commit with its stream sequence, as read back. */
export type StoredCommit = Commit & { seq: number };
export type StoredRemoval = Removal & { seq: number };
/** The head of a namespace: its last commit, or the removal that ended it. */
export type StoredHead = StoredCommit | StoredRemoval;
export type StoredCommitsRecord = CommitsRecord & { seq: number };

/** How many commits of a namespace stay in COMMITS (older ones are purged; rollback can name these). */
export const COMMITS_KEPT_PER_NAMESPACE = 50;

/** Namespace record (Intent), KV `namespaces`: who owns its writes and its head commit. Derived from the head. */
export const namespaceRecordSchema = z.object({
  name: z.string(),
  authority: z.string(),
  headSeq: z.number().int().positive(),
  headDeployId: z.string(),
  /** `removed` after `namespace rm` (the record stays, so a stale writer cannot bring an older head back). */
  state: z.enum(["active", "removed"]).default("active"),
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

/** What a reconciler did to a namespace (Status), stream STATUS, subject `status.<ns>.reconcile`. */
export const reconcileRecordSchema = z.object({
  type: z.literal("reconcile"),
  namespace: z.string(),
  machine: z.string(),
  /** The head it rolled forward, when it read one. */
  headSeq: z.number().int().positive().nullable(),
  actions: z.array(z.string()),
  at: z.string(),
});
export type ReconcileRecord = z.infer<typeof reconcileRecordSchema>;
