import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../model/errors.ts";
import { SERVICE_DATA_DIR, SYSTEM_UNIT_DIR } from "../model/systemd-unit.ts";

/**
 * `ployzd`'s command line, parsed with node:util rather than yargs: the daemon's start is
 * measured against a bare nats-server's, and yargs cost it about 15 ms (loading, parsing, and
 * rendering its help text on every run). One table below gives both the parser and `--help`.
 */

interface OptionSpec {
  /** `port`: 0–65535; `number`: a non-negative integer. */
  type: "string" | "port" | "number" | "boolean";
  describe: string;
  /** Shown in --help; applied when the option is absent. */
  default?: string | number | boolean;
  /** Needs this other option too (`--acme-ca` means nothing without `--acme-directory`). */
  implies?: string;
}

/** Every option of `ployzd run`. A boolean that defaults to true is turned off with `--no-<name>`. */
export const RUN_OPTIONS = {
  "data-dir": { type: "string", describe: "where this machine keeps its state (default: ~/.local/share/ployz/dev)" },
  "machine-id": { type: "string", describe: "id on first start (default: host name + random suffix)" },
  region: { type: "string", describe: "region on first start (default: local)" },
  zone: { type: "string", describe: "availability zone on first start" },
  "nats-port": { type: "port", describe: "NATS client port on first start (default: a free one)" },
  "gateway-port": { type: "port", describe: "gateway HTTP port on first start (default: a free one)" },
  "gateway-https-port": { type: "port", describe: "gateway HTTPS port on first start (default: a free one)" },
  "acme-directory": { type: "string", describe: "ACME directory URL to order certificates for `tls: acme` routes from (kept in machine.json)" },
  "acme-ca": { type: "string", describe: "PEM file of a CA to trust for the ACME directory's own HTTPS (e.g. a test server's)", implies: "acme-directory" },
  "acme-email": { type: "string", describe: "contact address for the ACME account", implies: "acme-directory" },
  "dns-port": { type: "port", describe: "cluster DNS port on first start (default 53; 0: a free one)" },
  endpoint: { type: "string", describe: "this machine's WireGuard endpoint HOST:PORT on the underlay: switches the mesh on (kept in machine.json)" },
  "wireguard-interface": { type: "string", describe: "the WireGuard interface's name with --endpoint (default ployz0)", implies: "endpoint" },
  "join-listen": { type: "string", describe: "where the join listener binds with --endpoint (default: the endpoint's host)", implies: "endpoint" },
  subnet: { type: "string", describe: "the workload subnet to claim on first start (held by docker0 when dockerd's --bip is on it, else by the ployz network ployzd makes; default: the first free one of 10.210.0.0/16)" },
  "metrics-port": { type: "port", describe: "Prometheus metrics on 127.0.0.1:PORT (/metrics, /metrics/caddy); 0: off (default: a free port on first start; kept in machine.json, e.g. 9469 on a fleet)" },
  "fault-injection": { type: "boolean", default: false, describe: "allow `ployzctl debug crash` and PLOYZ_FAULTS (tests)" },
  "drain-ms": { type: "number", default: 500, describe: "how long a replaced instance keeps serving once routing moved past it" },
  "reconcile-interval-ms": { type: "number", default: 30_000, describe: "how often each namespace is reconciled without a commit or container event" },
  inspect: { type: "boolean", default: false, describe: "forward XState inspection to the Stately inspector (browser)" },
  "inspect-url": { type: "string", default: "ws://127.0.0.1:8080", describe: "the Stately inspector's WebSocket bridge, with --inspect" },
  inspector: { type: "boolean", default: true, describe: "publish actor snapshots for `ployz top` (--no-inspector to measure their cost)" },
} as const satisfies Record<string, OptionSpec>;

/** The options of `ployzd install` beyond `ployzd run`'s (which it carries into the unit's ExecStart). */
export const INSTALL_OPTIONS = {
  "unit-dir": { type: "string", default: SYSTEM_UNIT_DIR, describe: "where to write ployzd.service (systemctl runs only for a directory systemd reads)" },
  user: { type: "string", describe: "run ployzd as this user (default root; another needs the docker group)" },
  force: { type: "boolean", default: false, describe: "replace a ployzd.service that differs from the one this would write" },
  start: { type: "boolean", default: false, describe: "also start ployzd now (systemctl enable --now)" },
} as const satisfies Record<string, OptionSpec>;

/** The options of `ployzd uninstall`. */
export const UNINSTALL_OPTIONS = {
  "unit-dir": { type: "string", default: SYSTEM_UNIT_DIR, describe: "where ployzd.service is (systemctl runs only for a directory systemd reads)" },
  force: { type: "boolean", default: false, describe: "remove a ployzd.service that `ployzd install` did not write" },
} as const satisfies Record<string, OptionSpec>;

/** `ployzd install`: where, as whom, and the `ployzd run` command line the unit starts. */
export interface InstallArgs {
  "unit-dir": string;
  user: string | undefined;
  force: boolean;
  start: boolean;
  "data-dir": string;
  /** The `ployzd run` options given, beyond --data-dir, as typed (checked like `run` checks them). */
  runArgs: string[];
}

export interface UninstallArgs {
  "unit-dir": string;
  force: boolean;
}

type RunOptionName = keyof typeof RUN_OPTIONS;
type ValueOf<S> = S extends { type: "port" | "number" } ? number : S extends { type: "boolean" } ? boolean : string;
/** The options of `ployzd run`, by name; those without a default may be absent. */
export type RunArgs = {
  [K in RunOptionName]: (typeof RUN_OPTIONS)[K] extends { default: string | number | boolean } ? ValueOf<(typeof RUN_OPTIONS)[K]> : ValueOf<(typeof RUN_OPTIONS)[K]> | undefined;
};

/** What the command line asks for. */
export type PloyzdCommand =
  | { command: "run"; args: RunArgs }
  | { command: "version"; json: boolean }
  | { command: "join"; args: JoinArgs }
  /** The cluster DNS process, which `ployzd run` starts (not listed in --help). */
  | { command: "dns"; config: string }
  | { command: "install"; args: InstallArgs }
  | { command: "uninstall"; args: UninstallArgs }
  | { command: "help"; text: string };

/** `ployzd join TOKEN`: what the new machine says about itself. */
export interface JoinArgs {
  token: string;
  "data-dir": string | undefined;
  endpoint: string | undefined;
  "wireguard-interface": string | undefined;
  "machine-id": string | undefined;
  subnet: string | undefined;
}

const JOIN_OPTIONS = {
  "data-dir": "where this machine keeps its state (default: ~/.local/share/ployz/dev)",
  endpoint: "this machine's WireGuard endpoint HOST:PORT (default: its address towards the inviter, port 51820)",
  "wireguard-interface": "the WireGuard interface's name (default ployz0)",
  "machine-id": "this machine's id (default: host name + random suffix)",
  subnet: "the workload subnet to ask for (its workload bridge holds it; default: the first free one)",
} as const;

const COMMANDS = {
  run: "run this machine's node daemon in the foreground",
  install: "write a systemd unit that runs `ployzd run` at boot, and enable it",
  uninstall: "disable and remove the systemd unit `ployzd install` wrote",
  join: "join a cluster with a token from `ployzctl machine invite` (then `ployzd run`)",
  version: "print the version, and whether this ployzd runs from the bundle (--json)",
} as const;

/** Parses `argv` (without node and the script); a mistake is an InvalidArgumentError saying what is wrong. */
export function parsePloyzdArgs(argv: readonly string[]): PloyzdCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") return { command: "help", text: mainHelp() };
  if (command === "--version") return { command: "version", json: false };
  if (command === "version") {
    const { values } = parse(rest, { json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, "version");
    if (values.help) return { command: "help", text: `ployzd version [--json]\n\n${COMMANDS.version}\n` };
    return { command: "version", json: values.json === true };
  }
  if (command === "dns") {
    const { values } = parse(rest, { config: { type: "string" } }, "dns");
    if (typeof values.config !== "string" || values.config === "") throw new InvalidArgumentError("ployzd dns needs --config FILE (ployzd run starts it)");
    return { command: "dns", config: values.config };
  }
  if (command === "install") return parseInstall(rest);
  if (command === "uninstall") {
    const { values } = parse(rest, tableConfig(UNINSTALL_OPTIONS), "uninstall");
    if (values.help) return { command: "help", text: optionsHelp("ployzd uninstall [options]", COMMANDS.uninstall, UNINSTALL_OPTIONS) };
    return { command: "uninstall", args: { "unit-dir": stringOr(values["unit-dir"], SYSTEM_UNIT_DIR), force: values.force === true } };
  }
  if (command === "join") {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
    for (const name of Object.keys(JOIN_OPTIONS)) options[name] = { type: "string" };
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message} (see ployzd join --help)`, { cause: error });
    }
    if (parsed.values.help) return { command: "help", text: joinHelp() };
    if (parsed.positionals.length !== 1) throw new InvalidArgumentError("ployzd join takes one TOKEN (from `ployzctl machine invite`)");
    const value = (name: keyof typeof JOIN_OPTIONS) => parsed.values[name] as string | undefined;
    return {
      command: "join",
      args: { token: parsed.positionals[0]!, "data-dir": value("data-dir"), endpoint: value("endpoint"), "wireguard-interface": value("wireguard-interface"), "machine-id": value("machine-id"), subnet: value("subnet") },
    };
  }
  if (command !== "run") throw new InvalidArgumentError(`no command ${JSON.stringify(command)}: say \`ployzd run\` (see ployzd --help)`);

  const { values } = parse(rest, tableConfig(RUN_OPTIONS), "run");
  if (values.help) return { command: "help", text: runHelp() };
  const args: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(RUN_OPTIONS) as Array<[string, OptionSpec]>) {
    const raw = values[name];
    if (spec.type === "boolean") args[name] = values[`no-${name}`] === true ? false : raw === true ? true : (spec.default ?? false);
    else if (raw === undefined) args[name] = spec.default;
    else if (spec.type === "port") args[name] = toPort(name, raw as string);
    else if (spec.type === "number") args[name] = toCount(name, raw as string);
    else args[name] = raw;
    if (spec.implies && raw !== undefined && values[spec.implies] === undefined) {
      throw new InvalidArgumentError(`--${name} needs --${spec.implies} too`);
    }
  }
  return { command: "run", args: args as RunArgs };
}

type ParseConfig = Record<string, { type: "string" | "boolean"; short?: string }>;

/** node:util's option config for a table (`--no-<name>` for booleans that default to true), with --help. */
function tableConfig(table: Record<string, OptionSpec>): ParseConfig {
  const config: ParseConfig = { help: { type: "boolean", short: "h" } };
  for (const [name, spec] of Object.entries(table)) {
    config[name] = { type: spec.type === "boolean" ? "boolean" : "string" };
    if (spec.type === "boolean" && spec.default === true) config[`no-${name}`] = { type: "boolean" };
  }
  return config;
}

/**
 * `ployzd install`: its own options, and every `ployzd run` option, checked as `run` checks
 * them and kept as typed for the unit's ExecStart (so the unit runs exactly what was asked).
 */
function parseInstall(rest: readonly string[]): PloyzdCommand {
  const { values } = parse(rest, { ...tableConfig(RUN_OPTIONS), ...tableConfig(INSTALL_OPTIONS) }, "install");
  if (values.help) return { command: "help", text: `${optionsHelp("ployzd install [options] [ployzd run options]", COMMANDS.install, INSTALL_OPTIONS)}\nEvery \`ployzd run\` option is accepted too and carried into the unit (see ployzd run --help); --data-dir defaults to ${SERVICE_DATA_DIR}.\n` };
  const runArgs: string[] = [];
  for (const [name, spec] of Object.entries(RUN_OPTIONS) as Array<[string, OptionSpec]>) {
    const raw = values[name];
    if (spec.implies && raw !== undefined && values[spec.implies] === undefined) throw new InvalidArgumentError(`--${name} needs --${spec.implies} too`);
    if (name === "data-dir") continue;
    if (values[`no-${name}`] === true) runArgs.push(`--no-${name}`);
    else if (raw === true) runArgs.push(`--${name}`);
    else if (typeof raw === "string") {
      if (spec.type === "port") toPort(name, raw);
      else if (spec.type === "number") toCount(name, raw);
      runArgs.push(`--${name}`, raw);
    }
  }
  const dataDir = stringOr(values["data-dir"], SERVICE_DATA_DIR);
  if (!dataDir.startsWith("/")) throw new InvalidArgumentError(`--data-dir needs an absolute path for a service, not ${JSON.stringify(dataDir)}`);
  const user = values.user;
  return {
    command: "install",
    args: {
      "unit-dir": stringOr(values["unit-dir"], SYSTEM_UNIT_DIR),
      user: typeof user === "string" ? user : undefined,
      force: values.force === true,
      start: values.start === true,
      "data-dir": dataDir,
      runArgs,
    },
  };
}

function stringOr(value: string | boolean | undefined, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function parse(args: readonly string[], options: Record<string, { type: "string" | "boolean"; short?: string }>, command: string) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    // node:util says e.g. "Unknown option '--datadir'"; keep its words, point at the help.
    throw new InvalidArgumentError(`${(error as Error).message} (see ployzd ${command} --help)`, { cause: error });
  }
}

function toPort(name: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value) || value < 0 || value > 65_535) throw new InvalidArgumentError(`--${name} needs a port number (0–65535), not ${JSON.stringify(raw)}`);
  return value;
}

function toCount(name: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`--${name} needs a whole number, not ${JSON.stringify(raw)}`);
  return value;
}

function mainHelp(): string {
  const commands = Object.entries(COMMANDS).map(([name, describe]) => `  ployzd ${name.padEnd(10)} ${describe}`);
  return ["ployzd <command>", "", "Commands:", ...commands, "", "Options:", "  --version  the version", "  --help     this help", ""].join("\n");
}

function joinHelp(): string {
  const lines = Object.entries(JOIN_OPTIONS).map(([name, describe]) => `  ${`--${name} VALUE`.padEnd(30)} ${describe}`);
  return ["ployzd join TOKEN [options]", "", COMMANDS.join, "", "Options:", ...lines, ""].join("\n");
}

function runHelp(): string {
  return optionsHelp("ployzd run [options]", COMMANDS.run, RUN_OPTIONS);
}

function optionsHelp(usage: string, describe: string, table: Record<string, OptionSpec>): string {
  const lines = Object.entries(table).map(([name, spec]) => {
    const flag = spec.type === "boolean" ? (spec.default === true ? `--[no-]${name}` : `--${name}`) : `--${name} ${spec.type === "port" || spec.type === "number" ? "N" : "VALUE"}`;
    const fallback = spec.default !== undefined && spec.type !== "boolean" ? ` [default: ${String(spec.default)}]` : "";
    return `  ${flag.padEnd(30)} ${spec.describe}${fallback}`;
  });
  return [usage, "", describe, "", "Options:", ...lines, ""].join("\n");
}
