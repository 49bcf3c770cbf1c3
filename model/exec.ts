import { z } from "zod";
import { progressInboxSchema } from "./deploy.ts";
import { InvalidArgumentError, NotFoundError } from "./errors.ts";
import type { InstanceRecord } from "./instance.ts";
import { NAME_PATTERN, nameSchema } from "./names.ts";

/**
 * `ployzctl exec`: a command run inside an instance's container by the participant of the machine
 * that runs it, its stdin, stdout and stderr carried as frames over NATS (model/stream-frames.ts).
 *
 * 1. The CLI finds the instance (namespace, service, slot → machine, container) through the API.
 * 2. It subscribes its own inbox and asks `ployz.m.<machine>.exec` (the operator role only), naming
 *    that inbox. The participant starts the command and answers with the session's id.
 * 3. Output frames go to the CLI's inbox; stdin, resize, signals, credit and pings go to
 *    `ployz.exec.<machine>.<session>` (the operator role may publish there, only that machine
 *    subscribes). Both directions are flow-controlled by credit (model/flow-window.ts).
 * 4. The command's exit code ends it. If the CLI falls silent (killed, its connection gone) the
 *    participant kills the command's processes; if the participant goes away, the CLI's pings
 *    find no responder and it fails at once.
 */

/** The window each receiver grants: output (participant → CLI) and input (CLI → participant). */
export const EXEC_OUTPUT_WINDOW = 1024 * 1024;
export const EXEC_INPUT_WINDOW = 256 * 1024;
/** The CLI pings this often (any frame counts); the participant ends a session silent this long. */
export const EXEC_PING_EVERY_MS = 1_000;
export const EXEC_CLIENT_SILENCE_MS = 4_000;
/** The CLI gives up on a participant that answered no ping for this long (no responder: at once). */
export const EXEC_SERVER_SILENCE_MS = 6_000;
/** Between the polite signal (SIGHUP) to a command whose client went away and SIGKILL. */
export const EXEC_KILL_GRACE_MS = 1_000;

export const execRequestSchema = z
  .object({
    namespace: nameSchema("namespace"),
    service: nameSchema("service"),
    slot: z.number().int().nonnegative(),
    containerId: z.string().regex(/^[0-9a-f]{64}$/, "must be a full container id"),
    command: z.array(z.string().max(64 * 1024)).min(1).max(1_000),
    tty: z.boolean(),
    stdin: z.boolean(),
    /** The terminal's size, with `tty`. */
    cols: z.number().int().min(1).max(10_000).optional(),
    rows: z.number().int().min(1).max(10_000).optional(),
    /** Where output frames go: an inbox of the asking identity (only it can read there). */
    inbox: progressInboxSchema,
    /** Who runs it, as the CLI's user says (`user@host`); the identity comes from the inbox. */
    user: z.string().max(200).optional(),
  })
  .strict();
export type ExecRequest = z.input<typeof execRequestSchema>;

export const execStartedSchema = z.object({
  type: z.literal("exec-started"),
  machine: z.string(),
  session: z.string().regex(/^[a-z0-9]{8,64}$/),
  /** Where the CLI sends stdin, resize, signals, credit and pings. */
  input: z.string(),
});
export type ExecStarted = z.infer<typeof execStartedSchema>;

/** The identity whose inbox this is: `_INBOX.c.<name>.…` → `<name>`, `_INBOX.m.<id>.…` → `machine <id>`. */
export function identityOfInbox(inbox: string): string {
  const [, kind, name] = inbox.split(".");
  if (kind === "c" && name) return name;
  if (kind === "m" && name) return `machine ${name}`;
  return "unknown";
}

/** Status record of an exec (`status.<ns>.exec`): who ran what, where, when, how it ended. Never its input or output. */
export const execStatusRecordSchema = z.object({
  type: z.literal("exec"),
  event: z.enum(["started", "ended"]),
  namespace: z.string(),
  service: z.string(),
  slot: z.number(),
  machine: z.string(),
  containerId: z.string(),
  session: z.string(),
  /** The identity (from its inbox) and the user it says it is. */
  who: z.string(),
  user: z.string().optional(),
  /** The command line, cut at 200 characters. */
  command: z.string(),
  tty: z.boolean(),
  at: z.string(),
  exitCode: z.number().int().optional(),
  /** How it ended when it did not exit by itself: the client went away, ployzd stopped, … */
  reason: z.string().optional(),
  durationMs: z.number().optional(),
});
export type ExecStatusRecord = z.infer<typeof execStatusRecordSchema>;

/** The command as one line for Status and logs: words joined, cut at 200 characters. */
export function commandLine(command: readonly string[]): string {
  const line = command.map((w) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(w) ? w : JSON.stringify(w))).join(" ");
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** `SERVICE` or `SERVICE#SLOT`, as `ployzctl exec` takes it. */
export function parseInstanceTarget(target: string): { service: string; slot?: number } {
  const match = /^([^#]+)(?:#(\d+))?$/.exec(target);
  if (!match || !NAME_PATTERN.test(match[1]!)) throw new InvalidArgumentError(`${target}: give SERVICE or SERVICE#SLOT (e.g. web or web#2)`);
  return match[2] === undefined ? { service: match[1]! } : { service: match[1]!, slot: Number(match[2]) };
}

/** An instance as `ps` shows it: its record and what its machine says of it now. */
export type LiveInstance = InstanceRecord & { live: { ok: true; state: string } | { ok: false; error: string } };

/**
 * The instance to exec into: the asked slot, or the lowest running one. It must be running now on
 * its machine; otherwise the error says what it is instead.
 */
export function pickInstance(instances: readonly LiveInstance[], namespace: string, service: string, slot?: number): InstanceRecord {
  const ofService = instances.filter((i) => i.namespace === namespace && i.service === service).sort((a, b) => a.slot - b.slot);
  if (ofService.length === 0) throw new NotFoundError(`namespace ${namespace} has no instances of service ${service}`, { hint: `\`ployzctl ps -n ${namespace}\` lists its instances` });
  const describe = (i: LiveInstance) => (i.live.ok ? i.live.state : `unknown (${i.live.error})`);
  if (slot !== undefined) {
    const chosen = ofService.find((i) => i.slot === slot);
    if (!chosen) throw new NotFoundError(`service ${service} of ${namespace} has no slot ${slot}`, { hint: `its slots: ${ofService.map((i) => i.slot).join(", ")}` });
    if (!chosen.live.ok || chosen.live.state !== "running") throw new InvalidArgumentError(`${service}#${slot} of ${namespace} on ${chosen.machine} is not running: ${describe(chosen)}`);
    return chosen;
  }
  const running = ofService.find((i) => i.live.ok && i.live.state === "running");
  if (!running) {
    throw new InvalidArgumentError(`no instance of ${service} in ${namespace} is running: ${ofService.map((i) => `#${i.slot} on ${i.machine} ${describe(i)}`).join(", ")}`);
  }
  return running;
}
