import { z } from "zod";

/** How a client reaches a daemon: written by ployzd to `<data>/client.json` once it is ready. */
export const clientInfoSchema = z
  .object({
    machineId: z.string(),
    servers: z.array(z.string()).min(1),
    seedFile: z.string(),
    dataDir: z.string(),
    pid: z.number(),
    version: z.string(),
    readyAt: z.string(),
    /** The gateway's HTTP address on this machine, and the cluster DNS server's. */
    gateway: z.string().optional(),
    /** The gateway's HTTPS address (`https://host:port`), for `tls: acme` routes. */
    gatewayHttps: z.string().optional(),
    dns: z.string().optional(),
    /** The metrics listener (`http://host:port`; `/metrics` and `/metrics/caddy`), when on. */
    metrics: z.string().optional(),
  })
  .strict();
export type ClientInfo = z.infer<typeof clientInfoSchema>;
