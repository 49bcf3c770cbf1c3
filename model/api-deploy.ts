import { z } from "zod";
import { logCursorSchema, logLineSchema, logTimeSchema } from "./log-lines.ts";
import { progressInboxSchema } from "./deploy.ts";
import { hostPathSchema } from "./host-path.ts";
import { instanceRecordSchema } from "./instance.ts";
import { nameSchema } from "./names.ts";
import { capacitySchema } from "./observation.ts";
import { regionRoleSchema } from "./region.ts";

/** Requests and replies of the deploy-related API verbs (`ployz.api.<verb>`). */

export const namespaceRefSchema = z.object({ namespace: nameSchema("namespace") }).strict();
export const psRequestSchema = z.object({ namespace: nameSchema("namespace").optional() }).strict();
export const rollbackRequestSchema = z
  .object({ namespace: nameSchema("namespace"), to: z.number().int().positive().optional(), progress: progressInboxSchema.optional() })
  .strict();
export const explainRequestSchema = z.object({ namespace: nameSchema("namespace"), service: nameSchema("service") }).strict();
/**
 * `ployz.api.logs`: one round of a service's logs from every machine that holds an instance,
 * merged by time. `cursors` (from the previous round's answer) make the next round start exactly
 * after what was shown; an instance without a cursor starts with its last `tail` lines.
 */
export const logsApiRequestSchema = z
  .object({
    namespace: nameSchema("namespace"),
    service: nameSchema("service"),
    tail: z.number().int().min(0).max(10_000).default(100),
    /** Unix milliseconds: no line before this. */
    sinceMs: z.number().int().nonnegative().optional(),
    /** Per container id: where the previous round ended. */
    cursors: z.record(z.string(), logCursorSchema).default({}),
  })
  .strict();
export type LogsApiRequest = z.input<typeof logsApiRequestSchema>;
/** `ployz.api.namespace.rm`: removes every instance, route and claim of a namespace; its history stays. */
export const namespaceRmRequestSchema = z
  .object({ namespace: nameSchema("namespace"), progress: progressInboxSchema.optional() })
  .strict();
export const regionSetRequestSchema = z.object({ region: nameSchema("region"), role: regionRoleSchema }).strict();
/** `ployz.api.namespace.allow-bind` and `namespace.disallow-bind`: a host directory the namespace may bind-mount from, or no more. */
export const namespaceBindRequestSchema = z.object({ namespace: nameSchema("namespace"), path: hostPathSchema }).strict();

/** The live side of an instance: what its machine's dockerd says now, or why it could not say. */
export const liveStateSchema = z.union([
  z.object({ ok: z.literal(true), state: z.string(), status: z.string() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

export const psReplySchema = z.object({
  type: z.literal("ps"),
  at: z.string(),
  /** Each committed instance with what its machine says of it now (and its address there, when it runs). */
  instances: z.array(instanceRecordSchema.extend({ live: liveStateSchema, address: z.string().optional() })),
});
export type PsReply = z.infer<typeof psReplySchema>;

export const historyEntrySchema = z.object({
  seq: z.number(),
  /** `removal`: `namespace rm`. */
  kind: z.enum(["commit", "removal"]).default("commit"),
  deployId: z.string(),
  createdAt: z.string(),
  authority: z.string(),
  revisions: z.record(z.string(), z.string()),
  instances: z.number(),
  rollbackOf: z.number().optional(),
  reason: z.string().optional(),
  head: z.boolean(),
});
export const historyReplySchema = z.object({
  type: z.literal("history"),
  namespace: z.string(),
  /** How many commits per namespace the store keeps: older ones are gone (and cannot be rolled back to). */
  kept: z.number(),
  commits: z.array(historyEntrySchema),
});
export type HistoryReply = z.infer<typeof historyReplySchema>;

export const explainReplySchema = z.object({
  type: z.literal("explain"),
  namespace: z.string(),
  service: z.string(),
  decidedAt: z.string(),
  deployId: z.string(),
  commitSeq: z.number().nullable(),
  revision: z.string(),
  change: z.string(),
  candidates: z.array(
    z.object({
      machine: z.string(),
      region: z.string(),
      zone: z.string().optional(),
      eligible: z.boolean(),
      placed: z.number(),
      reasons: z.array(z.string()),
      /** Asked just now, beside the decision. */
      now: z.union([z.object({ ok: z.literal(true), capacity: capacitySchema }), z.object({ ok: z.literal(false), error: z.string() })]),
    }),
  ),
  instances: z.array(instanceRecordSchema),
});
export type ExplainReply = z.infer<typeof explainReplySchema>;

export const logsApiReplySchema = z.object({
  type: z.literal("logs"),
  /** Every machine read up to this time. */
  until: logTimeSchema,
  /** New lines of every instance, oldest first. */
  lines: z.array(logLineSchema.extend({ slot: z.number(), machine: z.string() })),
  /** Give these back in the next round. */
  cursors: z.record(z.string(), logCursorSchema),
  /** Instances whose lines could not be read this round, and why. */
  errors: z.array(z.object({ slot: z.number(), machine: z.string(), error: z.string() })),
  /** Some instance had more than one round holds: ask again at once. */
  more: z.boolean(),
});
export type LogsApiReply = z.infer<typeof logsApiReplySchema>;

export const regionLsReplySchema = z.object({
  type: z.literal("regions"),
  regions: z.array(z.object({ name: z.string(), role: regionRoleSchema, explicit: z.boolean(), machines: z.array(z.string()) })),
});
export type RegionLsReply = z.infer<typeof regionLsReplySchema>;

export const regionSetReplySchema = z.object({
  type: z.literal("region-set"),
  region: z.string(),
  role: regionRoleSchema,
  redeployed: z.array(z.object({ namespace: z.string(), outcome: z.string(), detail: z.string() })),
});
export type RegionSetReply = z.infer<typeof regionSetReplySchema>;

export const deployReplySchema = z.object({
  type: z.enum(["previewed", "unchanged", "deployed", "removed"]),
  namespace: z.string(),
  deployId: z.string().optional(),
  commitSeq: z.number().optional(),
  plan: z.object({ hash: z.string(), baseCommitSeq: z.number().nullable(), operations: z.array(z.record(z.string(), z.unknown())) }).passthrough(),
  lines: z.array(z.string()),
  /** What settling the namespace first did (finishing what an earlier coordinator left). */
  notes: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
});
export type DeployReply = z.infer<typeof deployReplySchema>;

/**
 * The reply of `namespace.binds`, `namespace.allow-bind` and `namespace.disallow-bind`: the
 * namespace's allowed directories, the cluster's defaults, and what the answering machine refuses
 * always (the fixed list plus its own data directory and Docker socket).
 */
export const bindPolicyReplySchema = z.object({
  type: z.literal("bind-policy"),
  namespace: z.string(),
  allowed: z.array(z.string()),
  defaults: z.array(z.string()),
  refused: z.array(z.object({ path: z.string(), why: z.string() })),
  answeredBy: z.string(),
  /** allow-bind and disallow-bind: the directory, normalised, and whether the stored policy changed (false: it was so already). */
  path: z.string().optional(),
  changed: z.boolean().optional(),
});
export type BindPolicyReply = z.infer<typeof bindPolicyReplySchema>;
