/**
 * Typed errors a user can hit. Each names what failed and who, keeps its cause, and says what to
 * do next (`hint`). NATS, Docker and file-system errors are translated into these at the edge.
 */

/** Plain-data form of an error, as printed by `--json` and carried over NATS. */
export interface ErrorPayload {
  name: string;
  code: string;
  message: string;
  hint?: string;
}

/** Base class: every error Ployz raises on purpose. */
export class PloyzError extends Error {
  readonly code: string = "ployz-error";
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }

  toPayload(): ErrorPayload {
    return this.hint === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, hint: this.hint };
  }
}

/** No ployzd is reachable through the current context. */
export class DaemonNotRunningError extends PloyzError {
  override readonly code = "daemon-not-running";
}

/** The nats-server binary could not be found or run. */
export class NatsServerMissingError extends PloyzError {
  override readonly code = "nats-server-missing";
}

/** A port Ployz needs is taken by another process. */
export class PortInUseError extends PloyzError {
  override readonly code = "port-in-use";
}

/** The data directory cannot be created or written. */
export class DataDirNotWritableError extends PloyzError {
  override readonly code = "data-dir-not-writable";
}

/** A configuration or context file is malformed. */
export class ConfigError extends PloyzError {
  override readonly code = "config-invalid";
}

/** A request found nobody subscribed to its subject. */
export class NoResponderError extends PloyzError {
  override readonly code = "no-responder";
}

/**
 * A machine's API forwarded an operation to the namespace's authority (another machine), which
 * did not answer: nothing ran.
 */
export class AuthorityUnreachableError extends PloyzError {
  override readonly code = "authority-unreachable";
}

/** A request got no answer in time. */
export class RequestTimeoutError extends PloyzError {
  override readonly code = "request-timeout";
}

/** The remote side answered with an error of its own. */
export class RemoteError extends PloyzError {
  override readonly code: string;
  constructor(payload: ErrorPayload, who: string) {
    super(`${who}: ${payload.message}`, payload.hint === undefined ? {} : { hint: payload.hint });
    this.code = payload.code;
  }
}

/** A record in the store is invalid, or from a newer schema than this binary understands. */
export class InvalidStateError extends PloyzError {
  override readonly code = "invalid-state";
}

/** A name, id or other argument is not acceptable. */
export class InvalidArgumentError extends PloyzError {
  override readonly code = "invalid-argument";
}

/** Something named does not exist. */
export class NotFoundError extends PloyzError {
  override readonly code = "not-found";
}

/**
 * A participant was asked about a container this cluster does not manage. The answer is the same
 * whether the container belongs to someone else or does not exist, so a foreign container's
 * existence never leaks.
 */
export class ContainerNotManagedError extends PloyzError {
  override readonly code = "container-not-managed";
}

/** The daemon did not become ready, or did not stop, in time. */
export class DaemonStartError extends PloyzError {
  override readonly code = "daemon-start-failed";
}

/** This machine's identity was removed from the cluster and may not come back. */
export class MachineRemovedError extends PloyzError {
  override readonly code = "machine-removed";
}

/** A manifest or Compose file that Ployz cannot accept; `path` points at the bad field. */
export class ManifestError extends PloyzError {
  override readonly code = "manifest-invalid";
  readonly path: string;
  constructor(message: string, options: { path?: string; hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.path = options.path ?? "";
  }
}

/** Another deploy holds the namespace's lease. */
export class LeaseHeldError extends PloyzError {
  override readonly code = "lease-held";
}

/** A lease this process held is gone (expired, or another holder has it now). */
export class LeaseLostError extends PloyzError {
  override readonly code = "lease-lost";
}

/** A deploy failed; the previous commit is still what runs. */
export class DeployFailedError extends PloyzError {
  override readonly code = "deploy-failed";
}

/** The plan being applied is not the plan the world gives now. */
export class PlanChangedError extends PloyzError {
  override readonly code = "plan-changed";
}

/** Someone else appended to the namespace's commits first. */
export class CommitConflictError extends PloyzError {
  override readonly code = "commit-conflict";
}

/** A route's hostname and path are already served by another service. */
export class RouteConflictError extends PloyzError {
  override readonly code = "route-conflict";
}

/** A bind mount's host path is refused: not allowed for the namespace, or never allowed (`/etc`, the Docker socket…). */
export class BindRefusedError extends PloyzError {
  override readonly code = "bind-refused";
}

/** A program Ployz runs (caddy, wg, zfs…) is not installed or cannot be run. */
export class ProgramMissingError extends PloyzError {
  override readonly code = "program-missing";
}

/** The machine running an operation stopped answering while the caller waited for it. */
export class CoordinatorLostError extends PloyzError {
  override readonly code = "coordinator-lost";
}

/** A write by a holder whose fence no longer rules the namespace: a later lease holder fenced it out. Nothing was changed. */
export class FencedError extends PloyzError {
  override readonly code = "fenced";
}

/** The store could not be read or written (unreachable, timed out, refused): not the same as "not found". */
export class StoreUnavailableError extends PloyzError {
  override readonly code = "store-unavailable";
}

/** The daemon is shutting down and takes no new operations. */
export class DaemonStoppingError extends PloyzError {
  override readonly code = "daemon-stopping";
}

/** NATS refused this identity an operation its role does not allow (a permission violation). */
export class PermissionDeniedError extends PloyzError {
  override readonly code = "permission-denied";
}

/** A name that must be unique is taken (and is never reused). */
export class AlreadyExistsError extends PloyzError {
  override readonly code = "already-exists";
}

/** `ployzd install` found a unit file that differs from the one it would write. */
export class UnitFileDiffersError extends PloyzError {
  override readonly code = "unit-file-differs";
}

/** An exec session ended without its command's exit code: the participant or the connection went away. */
export class ExecSessionLostError extends PloyzError {
  override readonly code = "exec-lost";
}

/** A program Ployz ran (ip, wg, iptables, dockerd…) failed; the message names the command and what it said. */
export class CommandFailedError extends PloyzError {
  override readonly code = "command-failed";
}

/** Every workload subnet of the pool is taken. */
export class SubnetPoolExhaustedError extends PloyzError {
  override readonly code = "subnet-pool-exhausted";
}

/** A join token that cannot be used: forged or altered, expired, already used, or from another cluster. */
export class InviteRefusedError extends PloyzError {
  override readonly code = "invite-refused";
}

/** Something the next issue brings (growing the store) was asked for. */
export class NotYetSupportedError extends PloyzError {
  override readonly code = "not-yet-supported";
}

/** A context names a network namespace (a lab machine's) that this process cannot enter: not root, or the namespace is gone. */
export class NetworkNamespaceError extends PloyzError {
  override readonly code = "netns-unavailable";
}

/** The Docker network that should be this machine's workload bridge exists with another subnet: ployzd will not take it over or remove it. */
export class WorkloadNetworkConflictError extends PloyzError {
  override readonly code = "workload-network-conflict";
}

const byCode: Record<string, new (message: string, options?: { hint?: string }) => PloyzError> = {
  "daemon-not-running": DaemonNotRunningError,
  "nats-server-missing": NatsServerMissingError,
  "port-in-use": PortInUseError,
  "data-dir-not-writable": DataDirNotWritableError,
  "config-invalid": ConfigError,
  "no-responder": NoResponderError,
  "authority-unreachable": AuthorityUnreachableError,
  "request-timeout": RequestTimeoutError,
  "invalid-state": InvalidStateError,
  "invalid-argument": InvalidArgumentError,
  "not-found": NotFoundError,
  "container-not-managed": ContainerNotManagedError,
  "daemon-start-failed": DaemonStartError,
  "machine-removed": MachineRemovedError,
  "manifest-invalid": ManifestError,
  "lease-held": LeaseHeldError,
  "deploy-failed": DeployFailedError,
  "plan-changed": PlanChangedError,
  "commit-conflict": CommitConflictError,
  "coordinator-lost": CoordinatorLostError,
  "program-missing": ProgramMissingError,
  "route-conflict": RouteConflictError,
  "bind-refused": BindRefusedError,
  fenced: FencedError,
  "lease-lost": LeaseLostError,
  "store-unavailable": StoreUnavailableError,
  "daemon-stopping": DaemonStoppingError,
  "permission-denied": PermissionDeniedError,
  "already-exists": AlreadyExistsError,
  "unit-file-differs": UnitFileDiffersError,
  "exec-lost": ExecSessionLostError,
  "command-failed": CommandFailedError,
  "subnet-pool-exhausted": SubnetPoolExhaustedError,
  "invite-refused": InviteRefusedError,
  "not-yet-supported": NotYetSupportedError,
  "netns-unavailable": NetworkNamespaceError,
  "workload-network-conflict": WorkloadNetworkConflictError,
};

/** Rebuilds a typed error from its payload (e.g. one a daemon wrote before it exited). */
export function errorFromPayload(payload: ErrorPayload): PloyzError {
  const Type = byCode[payload.code] ?? PloyzError;
  return new Type(payload.message, payload.hint === undefined ? {} : { hint: payload.hint });
}

/** The payload of any thrown value: typed errors keep their code, others become `internal`. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof PloyzError) return error.toPayload();
  if (error instanceof Error) return { name: error.name, code: "internal", message: error.message };
  return { name: "Error", code: "internal", message: String(error) };
}


/** The message of anything thrown (an Error's message, else its text). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
