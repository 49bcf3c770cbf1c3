import { z } from "zod";

/** Live capacity of one machine, as its participant sees it at the moment it is asked. */
export const capacitySchema = z.object({
  type: z.literal("capacity"),
  machine: z.string(),
  at: z.string(),
  cpu: z.object({ cores: z.number(), load1m: z.number() }),
  memory: z.object({ totalBytes: z.number(), freeBytes: z.number() }),
  disk: z.object({ path: z.string(), totalBytes: z.number(), freeBytes: z.number() }),
  /** Container counts from the local dockerd, or the error dockerd gave. */
  containers: z.union([
    z.object({ ok: z.literal(true), running: z.number(), total: z.number() }),
    z.object({ ok: z.literal(false), error: z.string() }),
  ]),
});
export type Capacity = z.infer<typeof capacitySchema>;

/** One container as a participant reports it. */
export const containerSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  status: z.string(),
  labels: z.record(z.string(), z.string()),
  createdAt: z.string(),
});
export type ContainerSummary = z.infer<typeof containerSummarySchema>;

export const containerListSchema = z.object({
  type: z.literal("containers"),
  machine: z.string(),
  at: z.string(),
  containers: z.array(containerSummarySchema),
});
export type ContainerList = z.infer<typeof containerListSchema>;

export const containerInspectSchema = z.object({
  type: z.literal("container"),
  machine: z.string(),
  at: z.string(),
  container: containerSummarySchema.extend({
    ipAddresses: z.record(z.string(), z.string()),
    restartCount: z.number(),
    exitCode: z.number().nullable(),
  }),
});
export type ContainerInspect = z.infer<typeof containerInspectSchema>;

/** Supervision state of one long-lived child of a node. */
export const childStatusSchema = z.object({
  name: z.string(),
  state: z.enum(["starting", "running", "backoff", "failed", "stopped"]),
  restarts: z.number(),
  since: z.string(),
  lastError: z.string().optional(),
});
export type ChildStatus = z.infer<typeof childStatusSchema>;

export const actorsReplySchema = z.object({
  type: z.literal("actors"),
  machine: z.string(),
  at: z.string(),
  children: z.array(childStatusSchema),
});
export type ActorsReply = z.infer<typeof actorsReplySchema>;

/** A request to a participant: which container to inspect, which actor to crash (debug). */
export const containerRefSchema = z.object({ id: z.string().min(1).max(128) }).strict();
export const crashRequestSchema = z.object({ actor: z.string().min(1).max(64) }).strict();

/**
 * The result of asking one machine live: what it said and how long it took, or what went wrong.
 * Never stored — it is only ever the answer of this moment.
 */
export const machineObservationSchema = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    machine: z.string(),
    at: z.string(),
    latencyMs: z.number(),
    capacity: capacitySchema,
    children: z.array(childStatusSchema),
  }),
  z.object({
    ok: z.literal(false),
    machine: z.string(),
    at: z.string(),
    latencyMs: z.number(),
    error: z.object({ name: z.string(), code: z.string(), message: z.string(), hint: z.string().optional() }),
  }),
]);
export type MachineObservation = z.infer<typeof machineObservationSchema>;
