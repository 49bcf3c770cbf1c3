/**
 * Every NATS subject Ployz uses, in one place: the contract between daemon and CLI.
 * Machine ids are validated names (see names.ts), so they are always a single subject token.
 */

/** Participant verbs served on `ployz.m.<machine>.<verb>`. */
export const MACHINE_VERBS = [
  "observe.capacity",
  "observe.containers",
  "observe.instances",
  "observe.actors",
  "observe.routes",
  "observe.mesh",
  "observe.image",
  "container.inspect",
  "container.start",
  "container.remove",
  "container.logs",
  "probe.readiness",
  "lock.acquire",
  "lock.release",
  "debug.crash",
  /** Runs a command in a managed container for an operator (`ployzctl exec`); its frames go over `ployz.exec.<machine>.<session>`. */
  "exec",
] as const;
export type MachineVerb = (typeof MACHINE_VERBS)[number];

/** API verbs served on `ployz.api.<verb>` by every daemon, in one queue group. */
export const API_VERBS = [
  "ping",
  "status",
  "machine.ls",
  "machine.invite",
  "deploy",
  "ps",
  "history",
  "rollback",
  "explain",
  "logs",
  "region.set",
  "region.ls",
  "namespace.rm",
  "namespace.binds",
  "namespace.allow-bind",
  "namespace.disallow-bind",
  "routes",
  "overview",
  "credentials.create",
  "credentials.ls",
  "credentials.revoke",
  "events",
] as const;
export type ApiVerb = (typeof API_VERBS)[number];

export const API_QUEUE_GROUP = "ployz-api";

export const subjects = {
  machine: (machineId: string, verb: MachineVerb) => `ployz.m.${machineId}.${verb}`,
  machineAll: (machineId: string) => `ployz.m.${machineId}.>`,
  api: (verb: ApiVerb) => `ployz.api.${verb}`,
  /**
   * A deploy, rollback, removal or region redeploy that a machine's API received for a namespace
   * whose authority is another machine, forwarded to that machine's API (no queue group: only
   * the authority answers). Not under `ployz.api.>`, which every daemon answers in its queue group.
   */
  forwardedOperation: (machineId: string) => `ployz.authority.${machineId}.operate`,
  apiAll: () => "ployz.api.>",
  actors: (machineId: string) => `ployz.actors.${machineId}`,
  actorsAll: () => "ployz.actors.*",
  /**
   * Request/reply to a machine's inspector: its actor snapshot now (the same message it
   * publishes), so `top` need not wait for the next one. Not under `ployz.m.<machine>.>`: that
   * is the participant's, which answers every verb there.
   */
  inspector: (machineId: string) => `ployz.inspector.${machineId}.actors`,
  /** Rate-limited event records of a node's actors (`ployzctl debug events --follow`). */
  events: (machineId: string) => `ployz.events.${machineId}`,
  eventsAll: () => "ployz.events.*",
  /** Docker events about managed containers on a machine, for the reconcilers (core NATS, not stored). */
  containerEvents: (machineId: string) => `ployz.containers.${machineId}`,
  containerEventsAll: () => "ployz.containers.*",
  /** Input frames of an exec session (stdin, resize, signals, credit, pings), CLI → participant. */
  execInput: (machineId: string, session: string) => `ployz.exec.${machineId}.${session}`,
  execInputAll: (machineId: string) => `ployz.exec.${machineId}.>`,
  /** Durable Status records about a node itself (not a namespace: `_` is not valid in one). */
  nodeStatus: (machineId: string) => `status._node.${machineId}`,
  /** Durable Status records of the certificate orders a machine's gateway made. */
  certificateStatus: (machineId: string) => `status._cert.${machineId}`,
} as const;

/** The machine id and verb of a participant subject, or undefined if it is not one. */
export function parseMachineSubject(subject: string): { machineId: string; verb: string } | undefined {
  const parts = subject.split(".");
  if (parts.length < 4 || parts[0] !== "ployz" || parts[1] !== "m") return undefined;
  return { machineId: parts[2]!, verb: parts.slice(3).join(".") };
}
