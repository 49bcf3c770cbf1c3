import { z } from "zod";

/**
 * Which instance of which revision should run where (Intent), derived from the namespace's head
 * commit by the roll-forward. Kept whole per namespace (see `namespaceInstancesSchema`).
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
    ports: z.array(z.object({ container: z.number(), protocol: z.enum(["tcp", "udp"]), published: z.number().optional() })),
    resources: z.object({ cpu: z.number().optional(), memory: z.number().optional() }),
    /** The deploy that started the container. */
    deployId: z.string(),
    /** The head commit this record was derived from. */
    commitSeq: z.number().int().positive(),
    createdAt: z.string(),
  })
  .strict();
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

/**
 * KV `instances`, key `<namespace>`: every instance record of one namespace, written whole by the
 * roll-forward of `commitSeq`. One document per namespace, so a writer replaces all of it or
 * none, and a stale writer (an older commitSeq) is refused by compare-and-set. After
 * `namespace rm` the document stays, empty, as a tombstone.
 */
export const namespaceInstancesSchema = z
  .object({
    type: z.literal("instances"),
    namespace: z.string(),
    commitSeq: z.number().int().positive(),
    instances: z.array(instanceRecordSchema),
  })
  .strict();
export type NamespaceInstances = z.infer<typeof namespaceInstancesSchema>;

/** Docker labels every Ployz container carries; orphans are found by them. */
export const LABELS = {
  managed: "ployz.managed",
  /** The cluster's id: two clusters sharing one dockerd never touch each other's containers. */
  cluster: "ployz.cluster",
  namespace: "ployz.namespace",
  service: "ployz.service",
  slot: "ployz.slot",
  revision: "ployz.revision",
  /** The deploy that started it: exec probes run only in the asking deploy's own containers. */
  deploy: "ployz.deploy",
  /** The image reference the manifest named (the container runs the exact image id). */
  image: "ployz.image",
} as const;

/**
 * Docker's label filter for the containers the cluster `clusterId` manages (of one namespace, if
 * given). A participant lists, watches and touches only these.
 */
export function managedLabelFilter(clusterId: string, namespace?: string): string[] {
  return [`${LABELS.managed}=true`, `${LABELS.cluster}=${clusterId}`, ...(namespace ? [`${LABELS.namespace}=${namespace}`] : [])];
}

/**
 * Whether a managed container was started for `deployId` in `namespace` (its labels, which
 * `startContainer` writes and the spec cannot: `ployz.` labels are reserved). Commands run only
 * in the asking deploy's own candidates.
 */
export function isCandidateOf(labels: Record<string, string>, namespace: string, deployId: string): boolean {
  return labels[LABELS.namespace] === namespace && labels[LABELS.deploy] === deployId;
}

/** A container reference as messages show it: a full id shortened to 12 characters, a name as it is. */
export function shortContainerRef(ref: string): string {
  return /^[0-9a-f]{64}$/.test(ref) ? ref.slice(0, 12) : ref;
}

/** The Docker volume of a namespace's named volume. Names hold no `_`, so this never collides. */
export function volumeName(namespace: string, volume: string): string {
  return `ployz_${namespace}_${volume}`;
}
