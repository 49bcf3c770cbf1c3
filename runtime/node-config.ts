import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import { machineRecordSchema } from "../model/machine.ts";
import { machineIdSchema, regionNameSchema } from "../model/names.ts";
import { readJsonFile, writeFileAtomic } from "./files.ts";
import type { DataPaths } from "./paths.ts";

/** This machine's own settings, fixed at first start: `<data>/machine.json`. */
export const nodeConfigSchema = z
  .object({
    version: z.literal(1),
    machineId: machineIdSchema,
    name: z.string().min(1).max(128),
    region: regionNameSchema,
    zone: regionNameSchema.optional(),
    storage: z.boolean(),
    nats: z
      .object({
        host: z
          .string()
          .min(1)
          .refine((h) => !["0.0.0.0", "::", "[::]", "*"].includes(h), "must be a loopback or overlay address, never every interface"),
        clientPort: z.number().int().min(1).max(65535),
      })
      .strict(),
    /** The gateway (Caddy): HTTP and HTTPS listeners and admin API, fixed at first start (HTTPS filled in by a later version). */
    gateway: z
      .object({
        host: z.string(),
        httpPort: z.number().int().min(1).max(65535),
        httpsPort: z.number().int().min(1).max(65535).optional(),
        adminPort: z.number().int().min(1).max(65535),
      })
      .strict()
      .optional(),
    /** Where this machine orders certificates for `tls: acme` routes; none: it orders nothing. */
    acme: z
      .object({
        directory: z.url({ protocol: /^https?$/ }),
        /** A CA (PEM) trusted for the directory's own HTTPS, beside the system's roots. */
        caPem: z.string().includes("-----BEGIN CERTIFICATE-----").optional(),
        email: z.email().optional(),
      })
      .strict()
      .optional(),
    /**
     * This machine's place in the WireGuard mesh (`ployzd run --endpoint`, or `ployzd join`): where
     * peers reach it on the underlay (UDP), the interface, and the join listener's address (TCP, same
     * port; the endpoint's host unless told otherwise). Absent: a single machine without a mesh.
     */
    mesh: z
      .object({
        endpoint: z.string().min(3),
        listenPort: z.number().int().min(1).max(65535),
        interface: z.string().regex(/^[A-Za-z0-9_.+=-]{1,15}$/),
        joinHost: z.string().min(1),
      })
      .strict()
      .optional(),
    /** The workload subnet this machine holds (claimed by compare-and-set, KV mesh `subnets`); its workload bridge holds it (model/workload-bridge.ts). */
    subnet: z.string().optional(),
    /** A subnet asked for at first start (`--subnet`), claimed at the first start that reaches the store. */
    wantedSubnet: z.string().optional(),
    /** Set by `ployzd join`: the cluster, and the storage machines it reaches as a leaf until membership names them. */
    joined: z
      .object({ cluster: z.string(), inviter: z.string(), at: z.string(), hubs: z.array(machineRecordSchema).min(1) })
      .strict()
      .optional(),
    /** The Prometheus metrics listener (`/metrics`, `/metrics/caddy`); port 0: off. */
    metrics: z.object({ host: z.string(), port: z.number().int().min(0).max(65535) }).strict().optional(),
    /** The cluster DNS server: the bridge address (containers reach it there) and port. */
    dns: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict().optional(),
    createdAt: z.string(),
  })
  .strict();
export type NodeConfig = z.infer<typeof nodeConfigSchema>;

export interface NodeConfigDefaults {
  machineId?: string;
  region?: string;
  zone?: string;
  natsPort: () => Promise<number>;
  mesh?: NodeConfig["mesh"];
  wantedSubnet?: string;
}

/** A machine id from the host name plus a random suffix, always a valid name. */
export function generateMachineId(host = hostname()): string {
  const base = host.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "machine";
  return `${base}-${randomBytes(2).toString("hex")}`;
}

const HINT = "fix or remove the file (removing it gives this machine a new identity)";

/** Reads `machine.json`, or writes a new one from the defaults on first start. */
export async function loadOrCreateNodeConfig(paths: DataPaths, defaults: NodeConfigDefaults): Promise<NodeConfig> {
  const existing = readJsonFile(paths.machine, nodeConfigSchema, "machine config", HINT);
  if (existing) return existing;
  const config = nodeConfigSchema.parse({
    version: 1,
    machineId: defaults.machineId ?? generateMachineId(),
    name: hostname(),
    region: defaults.region ?? "local",
    ...(defaults.zone ? { zone: defaults.zone } : {}),
    storage: true,
    nats: { host: "127.0.0.1", clientPort: await defaults.natsPort() },
    ...(defaults.mesh ? { mesh: defaults.mesh } : {}),
    ...(defaults.wantedSubnet ? { wantedSubnet: defaults.wantedSubnet } : {}),
    createdAt: new Date().toISOString(),
  });
  writeFileAtomic(paths.machine, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return config;
}

/** Writes the node config back (after filling in settings an older version did not have). */
export function saveNodeConfig(paths: DataPaths, config: NodeConfig): void {
  writeFileAtomic(paths.machine, `${JSON.stringify(nodeConfigSchema.parse(config), null, 2)}\n`, 0o600);
}
