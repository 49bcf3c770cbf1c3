import { z } from "zod";
import { durationSchema } from "./duration.ts";
import { memorySchema } from "./quantity.ts";

/**
 * The parts of a service spec that shape its container beyond image, command and mounts: who it
 * runs as, how it stops, its capabilities, limits, temporary filesystems, its own healthcheck and
 * its secrets. All optional with no default, so a spec without them hashes as it always did.
 */

export const absolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^\//, "must be an absolute path")
  .refine((p) => !p.split("/").includes(".."), "must not contain ..");

const fileMode = (most: number) => z.number().int().min(0).max(most, `must be a file mode of at most 0${most.toString(8)}`);
const numericId = z.number().int().min(0).max(2 ** 32 - 2);

/** `user:`: a name or numeric id, with an optional group: `1000`, `1000:1000`, `nobody`, `app:app`. */
export const userSchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/, "must be USER or USER:GROUP (names or numeric ids)");

/** A signal as Docker takes it: `SIGTERM`, `TERM`, `SIGRTMIN+3`, `15`. */
export const signalSchema = z.string().regex(/^(SIG[A-Z0-9+-]+|[A-Z][A-Z0-9+-]*|\d{1,2})$/, "must be a signal like SIGTERM, SIGQUIT or 15");

/** A Linux capability, with or without `CAP_`, or ALL. */
export const capabilitySchema = z.string().regex(/^(CAP_)?[A-Z][A-Z_]*$/, "must be a capability like NET_ADMIN, CAP_CHOWN or ALL");

export const tmpfsMountSchema = z
  .object({
    target: absolutePathSchema,
    /** Bytes; Docker's default (half the machine's memory) when absent. */
    size: memorySchema.optional(),
    mode: fileMode(0o7777).optional(),
  })
  .strict();
export type TmpfsMount = z.infer<typeof tmpfsMountSchema>;

/** The resource limits `setrlimit` knows, as Docker names them. */
export const ULIMIT_NAMES = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"] as const;
const limitValue = z.number().int().min(-1, "must be -1 (unlimited) or more");
export const ulimitsSchema = z
  .partialRecord(z.enum(ULIMIT_NAMES), z.object({ soft: limitValue, hard: limitValue }).strict().refine((l) => l.hard === -1 || (l.soft !== -1 && l.soft <= l.hard), "soft must not be above hard"))
  .refine((u) => Object.keys(u).length > 0, "must name at least one limit");
export type Ulimits = z.infer<typeof ulimitsSchema>;

/** The container's own Docker healthcheck; `test: ["NONE"]` turns off one the image declares. */
export const healthcheckSchema = z
  .object({
    test: z
      .array(z.string())
      .min(1)
      .refine(([kind, ...rest]) => (kind === "NONE" ? rest.length === 0 : kind === "CMD" ? rest.length > 0 : kind === "CMD-SHELL" ? rest.length === 1 : false), {
        message: 'must be ["NONE"], ["CMD", command, args…] or ["CMD-SHELL", "shell command"]',
      }),
    interval: durationSchema.optional(),
    timeout: durationSchema.optional(),
    retries: z.number().int().min(1).max(100).optional(),
    startPeriod: durationSchema.optional(),
  })
  .strict();
export type Healthcheck = z.infer<typeof healthcheckSchema>;

/** Names of secrets, as KV keys take them: no dots, so a key always splits the same way. */
export const secretNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "secret name must be 1–63 letters, digits, _ or - (no dots)");

/**
 * A secret mounted as a read-only file. The spec holds only its name and version (a keyed hash
 * of the value, so a changed value replaces the containers); the value lives in KV `secrets`.
 */
export const secretMountSchema = z
  .object({
    source: secretNameSchema,
    version: z.string().regex(/^[0-9a-f]{16,64}$/, "must be the hex version of a stored secret"),
    target: absolutePathSchema,
    uid: numericId.optional(),
    gid: numericId.optional(),
    mode: fileMode(0o777).default(0o444),
  })
  .strict();
export type SecretMount = z.infer<typeof secretMountSchema>;

/** What a service may set on its container besides the basics; every field optional. */
export const containerFields = {
  user: userSchema.optional(),
  workingDir: absolutePathSchema.optional(),
  stopSignal: signalSchema.optional(),
  /** Time between the stop signal and SIGKILL; Docker counts whole seconds (rounded up). */
  stopGracePeriod: durationSchema.optional(),
  capAdd: z.array(capabilitySchema).optional(),
  capDrop: z.array(capabilitySchema).optional(),
  readOnly: z.boolean().optional(),
  tmpfs: z.array(tmpfsMountSchema).optional(),
  ulimits: ulimitsSchema.optional(),
  healthcheck: healthcheckSchema.optional(),
  secrets: z.array(secretMountSchema).optional(),
};

/** Owner of a config or secret file in the container (numeric ids). */
export const fileOwnerFields = { uid: numericId.optional(), gid: numericId.optional() };
