import { z } from "zod";
import { machineIdSchema, regionNameSchema } from "./names.ts";

/** A machine's membership record (Intent), KV `machines`, key = machine id. */
export const machineRecordSchema = z
  .object({
    id: machineIdSchema,
    name: z.string().min(1).max(128),
    region: regionNameSchema,
    zone: regionNameSchema.optional(),
    storage: z.boolean(),
    state: z.enum(["active", "removed"]),
    /** Public nkey of this machine's NATS identity; a removed machine's key is never accepted again. */
    natsUser: z.string().regex(/^U[A-Z2-7]{55}$/, "must be a NATS user public nkey"),
    /** Address other machines' NATS servers reach this one on (overlay, from the mesh issue). */
    natsHost: z.string().optional(),
    wireguard: z.object({ publicKey: z.string(), endpoint: z.string() }).optional(),
    overlayIp: z.string().optional(),
    subnet: z.string().optional(),
    joinedAt: z.string(),
    updatedAt: z.string(),
  })
  .strict();

export type MachineRecord = z.infer<typeof machineRecordSchema>;

/** Members that hold JetStream state. */
export function storageMembers(machines: readonly MachineRecord[]): MachineRecord[] {
  return machines.filter((m) => m.state === "active" && m.storage);
}
