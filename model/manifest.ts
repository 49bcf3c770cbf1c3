import { z } from "zod";
import { durationSchema } from "./duration.ts";
import { nameSchema } from "./names.ts";
import { cpuSchema, memorySchema } from "./quantity.ts";
import { splitShellWords } from "./shell-words.ts";
import { hostPathSchema } from "./host-path.ts";
import { absolutePathSchema, containerFields, fileOwnerFields } from "./manifest-container.ts";

/**
 * The Ployz manifest: one namespace and its services, as YAML or JSON. Every object is strict:
 * a key Ployz does not know is an error naming it, never silently dropped. Parsing normalizes
 * (durations to ms, memory to bytes, commands to arrays) so a spec compares by value.
 */

export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_REPLICAS = 100;

const serviceName = nameSchema("service name");
const volumeName = nameSchema("volume name");
/** A docker image reference: registry/repo[:tag][@digest], no spaces or shell characters. */
const imageSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, "must be an image reference like busybox:1.36 or registry.example/app:v2");
const absolutePath = absolutePathSchema;
const port = z.number().int().min(1, "must be a port 1–65535").max(65535, "must be a port 1–65535");
const stringList = z.union([z.string().min(1).transform((s) => [s]), z.array(z.string())]);
/** `command: "httpd -f -h '/my www'"` is split into words as a shell would (no shell runs it); arrays are kept. */
const commandSchema = z.union([
  z.string().min(1).transform((text, ctx) => {
    try {
      return splitShellWords(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `command ${(error as Error).message}` });
      return z.NEVER;
    }
  }),
  z.array(z.string()).min(1),
]);
const envSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const hostname = z
  .string()
  .max(253)
  .regex(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a lowercase DNS hostname");

export const portSchema = z
  .object({
    container: port,
    protocol: z.enum(["tcp", "udp"]).default("tcp"),
    /** Published on the machine's loopback (dev) — routes are the way in from outside. */
    published: port.optional(),
  })
  .strict();

const probeTiming = {
  interval: durationSchema.default(1_000),
  timeout: durationSchema.default(1_000),
  retries: z.number().int().min(1).max(100).default(3),
  startPeriod: durationSchema.default(0),
};
export const readinessSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("http"), port, path: z.string().regex(/^\//, "must start with /").default("/"), ...probeTiming }).strict(),
  z.object({ type: z.literal("tcp"), port, ...probeTiming }).strict(),
  z.object({ type: z.literal("exec"), command: z.array(z.string()).min(1), ...probeTiming }).strict(),
]);
export type ReadinessProbe = z.infer<typeof readinessSchema>;

/**
 * A path prefix is literal: `/`, then path characters only. Glob and placeholder characters
 * (`* ? [ ] { }`), backslashes, empty segments and `.`/`..` segments are refused: the gateway
 * matches exactly the prefix written, and conflicts are judged on exactly that.
 */
export const pathPrefixSchema = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._~!$&'()+,;=:@%\/-]*$/, "must start with / and hold only literal path characters (no * ? [ ] { } \\ or spaces)")
  .refine((p) => !/\/\/|(^|\/)\.\.?(\/|$)/.test(p), "must not have empty, . or .. segments");

/** A path prefix as the gateway matches it: `/api` and `/api/` are the same prefix. */
export function normalizePrefix(prefix: string): string {
  return prefix.length > 1 ? prefix.replace(/\/+$/, "") || "/" : prefix;
}

export const routeSchema = z
  .object({
    hostnames: z
      .array(hostname)
      .min(1)
      .superRefine((hosts, ctx) => {
        hosts.forEach((h, i) => {
          if (hosts.indexOf(h) !== i) ctx.addIssue({ code: "custom", path: [i], message: `hostname ${h} is listed twice` });
        });
      }),
    pathPrefix: pathPrefixSchema.default("/"),
    port,
    tls: z.enum(["none", "acme"]).default("none"),
  })
  .strict();
export type Route = z.infer<typeof routeSchema>;

export const volumeMountSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("volume"),
      source: volumeName,
      target: absolutePath,
      readOnly: z.boolean().default(false),
      /** Set from the namespace's volumes: the existing Docker volume an external volume mounts. */
      external: z.string().optional(),
    })
    .strict(),
  /** A host path, normalised (host-path.ts); which ones a namespace may mount is the bind policy's (bind-policy.ts). */
  z.object({ type: z.literal("bind"), source: hostPathSchema, target: absolutePath, readOnly: z.boolean().default(false) }).strict(),
]);
export type VolumeMount = z.infer<typeof volumeMountSchema>;

export const configMountSchema = z
  .object({
    target: absolutePath,
    content: z.string().max(256 * 1024, "config content is limited to 256 KiB"),
    mode: z.number().int().min(0).max(0o777).default(0o444),
    ...fileOwnerFields,
  })
  .strict();
export type ConfigMount = z.infer<typeof configMountSchema>;

/** A volume of the namespace; an external one is an existing Docker volume, mounted by its own name. */
const volumeSchema = z
  .object({
    external: z.boolean().default(false),
    /** The existing Docker volume's name (default: the key); only with external. */
    name: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/, "must be a Docker volume name: letters, digits, _ . -")
      .optional(),
  })
  .strict();

export const serviceSchema = z
  .object({
    image: imageSchema,
    command: commandSchema.optional(),
    entrypoint: commandSchema.optional(),
    env: envSchema.default({}),
    ports: z.array(portSchema).default([]),
    mode: z.enum(["replicated", "global"]).default("replicated"),
    replicas: z.number().int().min(0).max(MAX_REPLICAS, `at most ${MAX_REPLICAS} replicas`).default(1),
    resources: z.object({ cpu: cpuSchema.optional(), memory: memorySchema.optional() }).strict().default({}),
    stateful: z.boolean().default(false),
    placement: z
      .object({
        regions: z.array(nameSchema("region")).optional(),
        zones: z.array(nameSchema("zone")).optional(),
        machines: z.array(nameSchema("machine id")).optional(),
      })
      .strict()
      .default({}),
    readiness: readinessSchema.optional(),
    restart: z.enum(["no", "always", "on-failure", "unless-stopped"]).default("unless-stopped"),
    routes: z.array(routeSchema).default([]),
    volumes: z.array(volumeMountSchema).default([]),
    configs: z.array(configMountSchema).default([]),
    labels: z.record(z.string().regex(/^[a-zA-Z0-9._\-/]+$/, "must be a label key").refine((k) => !k.startsWith("ployz."), "the ployz. prefix is reserved"), z.string()).default({}),
    dependsOn: z.array(serviceName).default([]),
    ...containerFields,
  })
  .strict();
export type ServiceSpec = z.infer<typeof serviceSchema>;
export type ServiceInput = z.input<typeof serviceSchema>;

export const namespaceSpecSchema = z
  .object({
    namespace: nameSchema("namespace"),
    services: z.record(serviceName, serviceSchema).refine((s) => Object.keys(s).length > 0, "a namespace needs at least one service"),
    volumes: z.record(volumeName, volumeSchema).default({}),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const [name, volume] of Object.entries(spec.volumes)) {
      if (volume.name !== undefined && !volume.external) ctx.addIssue({ code: "custom", path: ["volumes", name, "name"], message: "names an existing Docker volume: only with external: true" });
    }
    for (const [name, service] of Object.entries(spec.services)) {
      for (const dep of service.dependsOn) {
        if (!spec.services[dep]) ctx.addIssue({ code: "custom", path: ["services", name, "dependsOn"], message: `depends on unknown service "${dep}"` });
      }
      for (const [i, v] of service.volumes.entries()) {
        if (v.type !== "volume") continue;
        const declared = spec.volumes[v.source];
        if (!declared) {
          ctx.addIssue({ code: "custom", path: ["services", name, "volumes", i, "source"], message: `volume "${v.source}" is not declared under top-level volumes` });
        } else if (v.external !== undefined && v.external !== externalName(v.source, declared)) {
          ctx.addIssue({ code: "custom", path: ["services", name, "volumes", i, "external"], message: declared.external ? `must be "${externalName(v.source, declared)}", the name the top-level volume gives` : `volume "${v.source}" is not external: set external: true on it under top-level volumes` });
        }
      }
      const targets = [
        ...service.volumes.map((v) => v.target),
        ...service.configs.map((c) => c.target),
        ...(service.secrets ?? []).map((s) => s.target),
        ...(service.tmpfs ?? []).map((t) => t.target),
      ];
      const dup = targets.find((t, i) => targets.indexOf(t) !== i);
      if (dup) ctx.addIssue({ code: "custom", path: ["services", name], message: `two mounts target ${dup}` });
    }
    // One hostname + path prefix is served by one route of the namespace (conflicts with other namespaces are the claims').
    const served = new Map<string, string>();
    for (const [name, service] of Object.entries(spec.services)) {
      service.routes.forEach((route, r) => {
        const prefix = normalizePrefix(route.pathPrefix);
        route.hostnames.forEach((host, h) => {
          const key = `${host}${prefix}`;
          const first = served.get(key);
          if (first) ctx.addIssue({ code: "custom", path: ["services", name, "routes", r, "hostnames", h], message: `${key} is already served by ${first}` });
          else served.set(key, `services.${name}.routes.${r}`);
        });
      });
    }
    const cycle = findCycle(spec.services);
    if (cycle) ctx.addIssue({ code: "custom", path: ["services"], message: `dependsOn has a cycle: ${cycle.join(" → ")}` });
  })
  .transform(withExternalMounts);
export type NamespaceSpec = z.infer<typeof namespaceSpecSchema>;
export type NamespaceSpecInput = z.input<typeof namespaceSpecSchema>;

/** The Docker volume an external volume mounts: its `name`, else its key. */
function externalName(key: string, volume: { external: boolean; name?: string | undefined }): string | undefined {
  return volume.external ? (volume.name ?? key) : undefined;
}

/**
 * A service spec travels alone to the machine that starts it, so every mount of an external
 * volume carries the Docker volume's name (idempotent: a normalized spec parses to itself).
 */
function withExternalMounts<T extends { volumes: Record<string, { external: boolean; name?: string | undefined }>; services: Record<string, { volumes: VolumeMount[] }> }>(spec: T): T {
  const services = Object.fromEntries(
    Object.entries(spec.services).map(([name, service]) => {
      const volumes = service.volumes.map((v) => {
        const external = v.type === "volume" ? externalName(v.source, spec.volumes[v.source] ?? { external: false }) : undefined;
        return external === undefined ? v : { ...v, external };
      });
      return [name, { ...service, volumes }];
    }),
  );
  return { ...spec, services };
}

/** A dependency cycle among services, as a path that returns to its start, or undefined. */
export function findCycle(services: Record<string, { dependsOn: string[] }>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of services[name]?.dependsOn ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const name of Object.keys(services)) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Services in an order where each comes after what it depends on (ties by name). */
export function startOrder(spec: NamespaceSpec): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of [...spec.services[name]!.dependsOn].sort()) visit(dep);
    order.push(name);
  };
  for (const name of Object.keys(spec.services).sort()) visit(name);
  return order;
}
