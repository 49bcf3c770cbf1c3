import { z } from "zod";

/**
 * Which instance of which revision should run where (Intent), written by the namespace authority
 * at commit: KV `instances`, key `<namespace>.<service>.<slot>`.
 */
export const instanceRecordSchema = z
  .object({
    namespace: z.string(),
    service: z.string(),
    slot: z.number().int().nonnegative(),
    machine: z.string(),
    revision: z.string(),
    containerId: z.string(),
    containerName: z.string(),
    /** The container's address on its machine's bridge (or overlay), for routing. */
    address: z.string().optional(),
    ports: z.array(z.object({ container: z.number(), protocol: z.enum(["tcp", "udp"]), published: z.number().optional() })),
    resources: z.object({ cpu: z.number().optional(), memory: z.number().optional() }),
    deployId: z.string(),
    commitSeq: z.number().int().positive(),
    createdAt: z.string(),
  })
  .strict();
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

export function instanceKey(namespace: string, service: string, slot: number): string {
  return `${namespace}.${service}.${slot}`;
}

/** Docker labels every Ployz container carries; orphans are found by them. */
export const LABELS = {
  managed: "ployz.managed",
  namespace: "ployz.namespace",
  service: "ployz.service",
  slot: "ployz.slot",
  revision: "ployz.revision",
  deploy: "ployz.deploy",
} as const;
