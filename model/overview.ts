import { z } from "zod";
import { deployPhaseSchema, namespaceRecordSchema } from "./commit.ts";
import { machineRecordSchema } from "./machine.ts";
import { regionRoleSchema } from "./region.ts";

/** A lease held now: KV `leases`, key `<kind>.<name>` (today only `deploy.<namespace>`). */
export const heldLeaseSchema = z.object({
  key: z.string(),
  kind: z.string(),
  name: z.string(),
  holder: z.string(),
  deployId: z.string().optional(),
  since: z.string().optional(),
});
export type HeldLease = z.infer<typeof heldLeaseSchema>;

/** A deploy in flight: its namespace's lease is held; its last recorded phase, if any. */
export const deployInFlightSchema = z.object({
  namespace: z.string(),
  deployId: z.string(),
  machine: z.string(),
  since: z.string().optional(),
  phase: deployPhaseSchema.pick({ phase: true, state: true, at: true }).optional(),
});
export type DeployInFlight = z.infer<typeof deployInFlightSchema>;

/**
 * `ployz.api.overview`: the durable picture `ployz top` shows in its header — Intent (machines,
 * regions, namespaces with head commits) and coordination (leases, deploys in flight) read from
 * the store at `at`. Nothing in it is observed live; the live side is the actor snapshots.
 */
export const overviewSchema = z.object({
  type: z.literal("overview"),
  at: z.string(),
  answeredBy: z.string(),
  machines: z.array(machineRecordSchema),
  regions: z.array(z.object({ name: z.string(), role: regionRoleSchema, explicit: z.boolean(), machines: z.array(z.string()) })),
  namespaces: z.array(namespaceRecordSchema),
  leases: z.array(heldLeaseSchema),
  deploys: z.array(deployInFlightSchema),
  /** Volume migrations do not exist yet: always empty, and `supported` says so. */
  migrations: z.object({ supported: z.boolean(), inFlight: z.array(z.object({ id: z.string(), namespace: z.string(), phase: z.string() })) }),
  /** Records that could not be read, by bucket and key: reported, never half-used. */
  invalid: z.array(z.object({ bucket: z.string(), key: z.string(), error: z.string() })),
});
export type Overview = z.infer<typeof overviewSchema>;
