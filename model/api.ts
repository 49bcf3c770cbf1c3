import { z } from "zod";
import { machineRecordSchema } from "./machine.ts";
import { machineReachSchema } from "./machine-ls.ts";
import { machineObservationSchema } from "./observation.ts";

/** Every reply on NATS is either the answer or an error payload. */
export const errorReplySchema = z.object({
  type: z.literal("error"),
  error: z.object({ name: z.string(), code: z.string(), message: z.string(), hint: z.string().optional() }),
});
export type ErrorReply = z.infer<typeof errorReplySchema>;

export const pongSchema = z.object({
  type: z.literal("pong"),
  machine: z.string(),
  version: z.string(),
  pid: z.number(),
  startedAt: z.string(),
});
export type Pong = z.infer<typeof pongSchema>;

export const machineListSchema = z.object({
  type: z.literal("machines"),
  machines: z.array(machineRecordSchema),
  /** Keys whose records could not be parsed: reported, never half-used. */
  invalid: z.array(z.object({ key: z.string(), error: z.string() })),
  /** Which daemon answered, and when: the live answers below were asked from there. */
  answeredBy: z.string(),
  at: z.string(),
  /** Every active member asked for its side of the mesh just now (Observation, never stored). */
  observation: z.array(machineReachSchema),
});
export type MachineList = z.infer<typeof machineListSchema>;

/** A durable lifecycle fact about a node (Status), stream STATUS, subject status._node.<id>. */
export const nodeStatusRecordSchema = z.object({
  type: z.literal("node"),
  machine: z.string(),
  at: z.string(),
  /** `joined`: the machine was admitted through an invite (recorded by the inviter; `detail` says by whom, where). */
  event: z.enum(["started", "stopped", "child-failed", "joined"]),
  detail: z.string().optional(),
  version: z.string(),
});
export type NodeStatusRecord = z.infer<typeof nodeStatusRecordSchema>;

/**
 * `ployzctl status`: the three kinds of truth, never mixed. Intent and Status come from the
 * store; Observation was asked live of each machine while this answer was being made.
 */
export const clusterStatusSchema = z.object({
  type: z.literal("status"),
  at: z.string(),
  answeredBy: z.string(),
  intent: z.object({
    machines: z.array(machineRecordSchema),
    invalid: z.array(z.object({ key: z.string(), error: z.string() })),
  }),
  status: z.object({
    schema: z.object({ version: z.number(), declaredAt: z.string(), declaredBy: z.string() }).nullable(),
    nodes: z.array(nodeStatusRecordSchema),
  }),
  observation: z.array(machineObservationSchema),
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;
