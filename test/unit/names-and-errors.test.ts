import { describe, expect, it } from "vitest";
import * as errorsModule from "../../model/errors.ts";
import {
  ConfigError,
  ContainerNotManagedError,
  DaemonNotRunningError,
  DaemonStartError,
  DataDirNotWritableError,
  errorFromPayload,
  InvalidArgumentError,
  InvalidStateError,
  MachineRemovedError,
  ManifestError,
  LeaseHeldError,
  DeployFailedError,
  PlanChangedError,
  CommitConflictError,
  CoordinatorLostError,
  ProgramMissingError,
  RouteConflictError,
  BindRefusedError,
  LeaseLostError,
  FencedError,
  StoreUnavailableError,
  DaemonStoppingError,
  PermissionDeniedError,
  AlreadyExistsError,
  UnitFileDiffersError,
  ExecSessionLostError,
  CommandFailedError,
  SubnetPoolExhaustedError,
  InviteRefusedError,
  NotYetSupportedError,
  NetworkNamespaceError,
  WorkloadNetworkConflictError,
  NatsServerMissingError,
  NoResponderError,
  AuthorityUnreachableError,
  NotFoundError,
  PloyzError,
  PortInUseError,
  RemoteError,
  RequestTimeoutError,
  toErrorPayload,
} from "../../model/errors.ts";
import { isValidName, machineIdSchema, nameSchema, NAME_PATTERN, regionNameSchema } from "../../model/names.ts";

describe("names", () => {
  const good = ["a", "0", "web", "eu-west-1", "m1-3f2a", "a-b-c", "x".repeat(63), `a${"-".repeat(61)}z`];
  const bad: Array<[string, string]> = [
    ["", "empty"],
    ["a.b", "dot (a NATS token separator)"],
    ["web.*", "NATS wildcard *"],
    ["*", "NATS wildcard *"],
    [">", "NATS wildcard >"],
    ["a>", "NATS wildcard >"],
    ["..", "parent directory"],
    ["a..b", "double dot"],
    ["a/b", "slash"],
    ["Web", "uppercase"],
    ["WEB", "uppercase"],
    ["-web", "leading dash"],
    ["web-", "trailing dash"],
    ["-", "lone dash"],
    ["x".repeat(64), "64 characters"],
    ["a b", "space"],
    ["a_b", "underscore"],
    ["ünï", "non-ASCII"],
    ["web\n", "trailing newline"],
  ];

  it.each(good)("accepts %j", (name) => {
    expect(isValidName(name)).toBe(true);
    expect(machineIdSchema.safeParse(name).success).toBe(true);
    expect(regionNameSchema.safeParse(name).success).toBe(true);
  });

  it.each(bad)("rejects %j (%s)", (name) => {
    expect(isValidName(name)).toBe(false);
    expect(NAME_PATTERN.test(name)).toBe(false);
    expect(machineIdSchema.safeParse(name).success).toBe(false);
  });

  it("names the kind of thing in the schema's message", () => {
    const result = nameSchema("service").safeParse("Web.App");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("service must be 1–63 lowercase letters, digits or inner dashes");
    expect(machineIdSchema.safeParse("A").error?.issues[0]?.message).toMatch(/^machine id /);
    expect(regionNameSchema.safeParse("A").error?.issues[0]?.message).toMatch(/^region /);
  });

  it("rejects non-strings", () => {
    expect(machineIdSchema.safeParse(42).success).toBe(false);
    expect(machineIdSchema.safeParse(undefined).success).toBe(false);
  });
});

type ErrorClass = new (message: string, options?: { hint?: string; cause?: unknown }) => PloyzError;

/** Every error a user can hit, with the code it must carry. */
const ERROR_CLASSES: Array<[ErrorClass, string]> = [
  [DaemonNotRunningError, "daemon-not-running"],
  [NatsServerMissingError, "nats-server-missing"],
  [PortInUseError, "port-in-use"],
  [DataDirNotWritableError, "data-dir-not-writable"],
  [ConfigError, "config-invalid"],
  [NoResponderError, "no-responder"],
  [AuthorityUnreachableError, "authority-unreachable"],
  [RequestTimeoutError, "request-timeout"],
  [InvalidStateError, "invalid-state"],
  [InvalidArgumentError, "invalid-argument"],
  [NotFoundError, "not-found"],
  [ContainerNotManagedError, "container-not-managed"],
  [DaemonStartError, "daemon-start-failed"],
  [MachineRemovedError, "machine-removed"],
  [ManifestError, "manifest-invalid"],
  [LeaseHeldError, "lease-held"],
  [DeployFailedError, "deploy-failed"],
  [PlanChangedError, "plan-changed"],
  [CommitConflictError, "commit-conflict"],
  [CoordinatorLostError, "coordinator-lost"],
  [ProgramMissingError, "program-missing"],
  [RouteConflictError, "route-conflict"],
  [BindRefusedError, "bind-refused"],
  [LeaseLostError, "lease-lost"],
  [FencedError, "fenced"],
  [StoreUnavailableError, "store-unavailable"],
  [DaemonStoppingError, "daemon-stopping"],
  [PermissionDeniedError, "permission-denied"],
  [AlreadyExistsError, "already-exists"],
  [UnitFileDiffersError, "unit-file-differs"],
  [ExecSessionLostError, "exec-lost"],
  [CommandFailedError, "command-failed"],
  [SubnetPoolExhaustedError, "subnet-pool-exhausted"],
  [InviteRefusedError, "invite-refused"],
  [NotYetSupportedError, "not-yet-supported"],
  [NetworkNamespaceError, "netns-unavailable"],
  [WorkloadNetworkConflictError, "workload-network-conflict"],
];

describe("errors", () => {
  it("covers every error class the module exports (so a new one cannot skip these checks)", () => {
    const exported = (Object.values(errorsModule) as unknown[]).filter(
      (value): value is ErrorClass => typeof value === "function" && value.prototype instanceof PloyzError,
    );
    const listed = new Set<unknown>([...ERROR_CLASSES.map(([Type]) => Type), RemoteError]);
    expect(exported.filter((Type) => !listed.has(Type)).map((Type) => Type.name)).toEqual([]);
    expect(exported.length).toBe(ERROR_CLASSES.length + 1);
  });

  it("has a distinct code for every class", () => {
    const codes = ERROR_CLASSES.map(([, code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  describe.each(ERROR_CLASSES.map(([Type, code]) => ({ name: Type.name, Type, code })))("$name", ({ Type, code }) => {
    it("sets name and code, and is a PloyzError and an Error", () => {
      const error = new Type("something failed");
      expect(error.name).toBe(Type.name);
      expect(error.code).toBe(code);
      expect(error.message).toBe("something failed");
      expect(error).toBeInstanceOf(Type);
      expect(error).toBeInstanceOf(PloyzError);
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toBe(`${Type.name}: something failed`);
    });

    it("keeps its cause and hint", () => {
      const cause = new Error("ECONNREFUSED");
      const error = new Type("cannot connect", { cause, hint: "start it with `ployzctl dev up`" });
      expect(error.cause).toBe(cause);
      expect(error.hint).toBe("start it with `ployzctl dev up`");
    });

    it("has no cause property when given none", () => {
      const error = new Type("plain");
      expect("cause" in error).toBe(false);
      expect(error.hint).toBeUndefined();
    });

    it("round-trips through its payload, with class, message and hint", () => {
      const original = new Type("lease held by m2", { hint: "wait, or ask m2", cause: new Error("inner") });
      const payload = original.toPayload();
      expect(payload).toEqual({ name: Type.name, code, message: "lease held by m2", hint: "wait, or ask m2" });
      // The payload is plain data: it survives JSON (as printed by --json or carried over NATS).
      const rebuilt = errorFromPayload(JSON.parse(JSON.stringify(payload)));
      expect(rebuilt).toBeInstanceOf(Type);
      expect(rebuilt.name).toBe(Type.name);
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.message).toBe("lease held by m2");
      expect(rebuilt.hint).toBe("wait, or ask m2");
    });

    it("leaves the hint out of the payload when there is none", () => {
      const payload = new Type("no hint").toPayload();
      expect(payload).not.toHaveProperty("hint");
      expect(errorFromPayload(payload).hint).toBeUndefined();
    });

    it("keeps its code and hint through toErrorPayload", () => {
      expect(toErrorPayload(new Type("x", { hint: "h" }))).toEqual({ name: Type.name, code, message: "x", hint: "h" });
    });
  });

  it("PloyzError itself has a generic code and name", () => {
    const error = new PloyzError("generic");
    expect(error.name).toBe("PloyzError");
    expect(error.code).toBe("ployz-error");
  });

  it("rebuilds an unknown code as a plain PloyzError rather than failing", () => {
    const rebuilt = errorFromPayload({ name: "FutureError", code: "from-a-newer-version", message: "held by m2", hint: "wait" });
    expect(rebuilt.constructor).toBe(PloyzError);
    expect(rebuilt.message).toBe("held by m2");
    expect(rebuilt.hint).toBe("wait");
  });

  it("RemoteError names who answered and keeps the remote code and hint", () => {
    const error = new RemoteError({ name: "NotFoundError", code: "not-found", message: "no container c1", hint: "list them" }, "machine m2");
    expect(error.name).toBe("RemoteError");
    expect(error.code).toBe("not-found");
    expect(error.message).toBe("machine m2: no container c1");
    expect(error.hint).toBe("list them");
    expect(error).toBeInstanceOf(PloyzError);
  });

  it("gives a plain Error the code internal, keeping its name and message", () => {
    expect(toErrorPayload(new Error("kaboom"))).toEqual({ name: "Error", code: "internal", message: "kaboom" });
    expect(toErrorPayload(new TypeError("x is undefined"))).toEqual({ name: "TypeError", code: "internal", message: "x is undefined" });
  });

  it("gives a thrown non-Error the code internal, as text", () => {
    expect(toErrorPayload("just a string")).toEqual({ name: "Error", code: "internal", message: "just a string" });
    expect(toErrorPayload(42)).toEqual({ name: "Error", code: "internal", message: "42" });
  });
});
