import { z } from "zod";
import { nameSchema } from "./names.ts";
import { readinessSchema, serviceSchema } from "./manifest.ts";
import { LOGS_MAX_BYTES, LOGS_MAX_CONTAINERS, LOGS_MAX_LINES, logCursorSchema, logLineSchema, logTimeSchema } from "./log-lines.ts";

/**
 * Requests a deploy coordinator sends to a participant (`ployz.m.<machine>.<verb>`), and replies.
 * Every mutating request carries the deploy id and its fence token; at the moment of the Docker
 * call the participant refuses it unless the token still rules the namespace (model/fencing.ts),
 * and a start also needs the deploy to hold this machine's lock for the namespace.
 */

const deployRef = {
  namespace: nameSchema("namespace"),
  deployId: z.string().regex(/^[a-z0-9-]{6,64}$/, "must be a deploy id"),
};
/** The sequence of the fence its holder appended to `commits.<namespace>` when it took the lease. */
const fenceRef = { fenceSeq: z.number().int().positive() };

export const lockRequestSchema = z.object({ ...deployRef, holder: z.string() }).strict();
export type LockRequest = z.infer<typeof lockRequestSchema>;

export const lockReplySchema = z.object({ type: z.literal("locked"), machine: z.string(), namespace: z.string(), deployId: z.string() });

export const startContainerRequestSchema = z
  .object({
    ...deployRef,
    service: nameSchema("service"),
    slot: z.number().int().nonnegative(),
    revision: z.string(),
    spec: z.unknown().pipe(serviceSchema),
    /** The exact image (id) the revision was planned with. */
    imageId: z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be an image id"),
    ...fenceRef,
    /** How long the coordinator waits: a start that could not happen by then is abandoned, never done late. */
    budgetMs: z.number().int().min(1_000).max(600_000),
  })
  .strict();
export type StartContainerRequest = z.input<typeof startContainerRequestSchema>;

export const startedContainerSchema = z.object({
  type: z.literal("started"),
  machine: z.string(),
  containerId: z.string(),
  containerName: z.string(),
  address: z.string().optional(),
});
export type StartedContainer = z.infer<typeof startedContainerSchema>;

export const probeRequestSchema = z
  .object({ ...deployRef, containerId: z.string().min(1), probe: z.unknown().pipe(readinessSchema).optional() })
  .strict();
export type ProbeRequest = z.input<typeof probeRequestSchema>;

export const probeReplySchema = z.object({ type: z.literal("ready"), machine: z.string(), containerId: z.string(), attempts: z.number(), ms: z.number() });
export type ProbeReply = z.infer<typeof probeReplySchema>;

export const removeContainerRequestSchema = z
  .object({
    ...deployRef,
    ...fenceRef,
    containerId: z.string().min(1),
    /** Time between stopping new traffic and SIGTERM, so in-flight requests finish. */
    drainMs: z.number().int().min(0).max(60_000).default(0),
    /** Graceful stop before SIGKILL. */
    stopTimeoutS: z.number().int().min(0).max(300).default(10),
  })
  .strict();
export type RemoveContainerRequest = z.input<typeof removeContainerRequestSchema>;

export const removedReplySchema = z.object({ type: z.literal("removed"), machine: z.string(), containerId: z.string(), existed: z.boolean() });

/** A Ployz-managed container as its labels describe it. */
export const managedContainerSchema = z.object({
  containerId: z.string(),
  name: z.string(),
  namespace: z.string(),
  service: z.string(),
  slot: z.number(),
  revision: z.string(),
  deployId: z.string(),
  state: z.string(),
  status: z.string(),
  /** For an exited container, its exit code (from Docker's status line). */
  exitCode: z.number().int().optional(),
  address: z.string().optional(),
});
export type ManagedContainer = z.infer<typeof managedContainerSchema>;

export const instancesReplySchema = z.object({
  type: z.literal("instances"),
  machine: z.string(),
  at: z.string(),
  containers: z.array(managedContainerSchema),
});
export type InstancesReply = z.infer<typeof instancesReplySchema>;

export const instancesRequestSchema = z.object({ namespace: nameSchema("namespace").optional() }).strict();

/**
 * `container.logs`: one bounded page of log lines of some containers of one machine (the API asks
 * each machine that holds instances once per round). Lines carry their times; a container with a
 * cursor gets the lines after it, one without gets its last `tail` lines (from `since` on).
 */
export const logsRequestSchema = z
  .object({
    containers: z.array(z.object({ containerId: z.string().min(1), cursor: logCursorSchema.optional() }).strict()).min(1).max(LOGS_MAX_CONTAINERS),
    tail: z.number().int().min(0).max(10_000).default(100),
    since: logTimeSchema.optional(),
    /** Lines up to this time: every machine of one round stops at the same moment. */
    until: logTimeSchema,
    /** Bounds of the whole answer, shared among its containers. */
    maxLines: z.number().int().positive().max(LOGS_MAX_LINES).default(LOGS_MAX_LINES),
    maxBytes: z.number().int().positive().max(LOGS_MAX_BYTES).default(LOGS_MAX_BYTES),
  })
  .strict();
export type LogsRequest = z.input<typeof logsRequestSchema>;
export const containerLogPageSchema = z.object({
  containerId: z.string(),
  lines: z.array(logLineSchema),
  /** The page was full: later lines exist and were not read. */
  truncated: z.boolean(),
  /** Why this container's lines could not be read (not managed here, gone …). */
  error: z.string().optional(),
});
export type ContainerLogPage = z.infer<typeof containerLogPageSchema>;
export const logsReplySchema = z.object({ type: z.literal("logs"), machine: z.string(), containers: z.array(containerLogPageSchema) });
export type LogsReply = z.infer<typeof logsReplySchema>;

/** `observe.image`: the id of an image reference in this machine's dockerd, null when it lacks it. */
export const imageRequestSchema = z.object({ image: z.string().min(1).max(255) }).strict();
export const imageReplySchema = z.object({ type: z.literal("image"), machine: z.string(), image: z.string(), id: z.string().nullable() });
export type ImageReply = z.infer<typeof imageReplySchema>;

/** A Docker event about a managed container, published on `ployz.containers.<machine>` (Observation). */
export const containerEventSchema = z.object({
  type: z.literal("container-event"),
  machine: z.string(),
  namespace: z.string(),
  containerId: z.string(),
  /** Docker's action: start, die, destroy, kill, oom, … */
  action: z.string(),
  at: z.string(),
});
export type ContainerEvent = z.infer<typeof containerEventSchema>;
