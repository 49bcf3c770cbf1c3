import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { localCommands, type Commands } from "../actors/host/commands.ts";
import { ConfigError, UnitFileDiffersError } from "../model/errors.ts";
import { PLOYZD_UNIT_NAME, renderPloyzdUnit, type PloyzdUnitOptions } from "../model/systemd-unit.ts";
import { writeFileAtomic } from "./files.ts";
import { PLOYZD_SCRIPT } from "./paths.ts";
import type { InstallArgs, UninstallArgs } from "./ployzd-args.ts";
import { VERSION } from "./version.ts";

/** Unit directories systemd reads (for units an administrator installs). */
const SYSTEMD_UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"];

/** The first line of every unit `ployzd install` writes: `uninstall` removes only such a file unless forced. */
const WRITTEN_BY = "# Written by `ployzd install`";

/** How `ployzd install` reaches systemd on this host. */
export interface SystemdHost {
  /** Whether systemd runs this machine (`/run/systemd/system` exists, as sd_booted(3) checks). */
  booted: boolean;
  /** The unit directories systemd reads: only for these does `ployzd install` run systemctl. */
  unitDirs: readonly string[];
  /** Runs `systemctl` (on this machine: `localCommands()`). */
  commands: Pick<Commands, "run">;
}

/** The host's systemd as it is: booted or not, systemctl run directly. */
export function systemdHost(commands: Pick<Commands, "run">): SystemdHost {
  return { booted: existsSync("/run/systemd/system"), unitDirs: SYSTEMD_UNIT_DIRS, commands };
}

export interface InstallRequest {
  unitDir: string;
  unit: PloyzdUnitOptions;
  force: boolean;
  start: boolean;
}

/** What `install` or `uninstall` did, and what is left for the operator to run. */
export interface UnitReport {
  unitFile: string;
  file: "created" | "replaced" | "unchanged" | "removed" | "absent";
  /** Commands that ran, in order. */
  ran: string[];
  /** Why systemctl did not run, when it did not. */
  skipped?: string;
  /** Commands the operator should run (systemd absent, or a unit directory it does not read). */
  todo: string[];
  /** Without systemd: the command line the unit would run, to start ployzd some other way. */
  command?: string;
}

/**
 * Writes ployzd's unit (mode 0644) into `unitDir`, refusing to replace one that differs unless
 * forced, then reloads systemd and enables it, when systemd runs here and reads that directory.
 * Otherwise it says what to run instead.
 */
export async function installPloyzdUnit(request: InstallRequest, host: SystemdHost): Promise<UnitReport> {
  assertDirectory(request.unitDir);
  const unitFile = join(request.unitDir, PLOYZD_UNIT_NAME);
  const content = renderPloyzdUnit(request.unit);
  const existing = readIfExists(unitFile);
  if (existing !== undefined && existing !== content && !request.force) {
    throw new UnitFileDiffersError(`${unitFile} exists and differs from the unit this would write (${firstDifference(existing, content)})`, {
      hint: "write the new one elsewhere to compare (`ployzd install --unit-dir $(mktemp -d)` with the same flags), then run again with --force to replace it",
    });
  }
  const file = existing === undefined ? "created" : existing === content ? "unchanged" : "replaced";
  if (file !== "unchanged") writeFileAtomic(unitFile, content, 0o644);
  const enable = request.start ? ["systemctl", "enable", "--now", PLOYZD_UNIT_NAME] : ["systemctl", "enable", PLOYZD_UNIT_NAME];
  const steps = [["systemctl", "daemon-reload"], enable];
  const later = request.start ? [] : [`systemctl start ${PLOYZD_UNIT_NAME}`];
  const skipped = whySkipped(request.unitDir, host);
  if (skipped) {
    const link = host.unitDirs.includes(request.unitDir) ? [] : [`systemctl link ${unitFile}`];
    const command = host.booted ? {} : { command: execStartOf(content) };
    return { unitFile, file, ran: [], skipped, todo: [...link, ...steps.map((s) => s.join(" ")), ...later], ...command };
  }
  const ran = await runAll(host, steps);
  return { unitFile, file, ran, todo: later };
}

/**
 * Disables and removes ployzd's unit. A file `ployzd install` did not write is left alone unless
 * forced; a missing one is nothing to do.
 */
export async function uninstallPloyzdUnit(request: { unitDir: string; force: boolean }, host: SystemdHost): Promise<UnitReport> {
  const unitFile = join(request.unitDir, PLOYZD_UNIT_NAME);
  const existing = readIfExists(unitFile);
  if (existing === undefined) return { unitFile, file: "absent", ran: [], todo: [] };
  if (!existing.startsWith(WRITTEN_BY) && !request.force) {
    throw new UnitFileDiffersError(`${unitFile} was not written by \`ployzd install\`; leaving it alone`, { hint: "remove it yourself, or run again with --force" });
  }
  const skipped = whySkipped(request.unitDir, host);
  const ran = skipped ? [] : await runAll(host, [["systemctl", "disable", "--now", PLOYZD_UNIT_NAME]]);
  rmSync(unitFile);
  if (!skipped) ran.push(...(await runAll(host, [["systemctl", "daemon-reload"]])));
  return {
    unitFile,
    file: "removed",
    ran,
    ...(skipped ? { skipped } : {}),
    // A unit linked from a directory systemd does not read is still known to it.
    todo: skipped && host.booted ? [`systemctl disable --now ${PLOYZD_UNIT_NAME}`, "systemctl daemon-reload"] : [],
  };
}

/** The unit's ExecStart= command line, as written. */
function execStartOf(unit: string): string {
  return unit.split("\n").find((line) => line.startsWith("ExecStart="))!.slice("ExecStart=".length);
}

/** Why systemctl is not run for `unitDir` here, or undefined when it is. */
function whySkipped(unitDir: string, host: SystemdHost): string | undefined {
  if (!host.booted) return "systemd is not running on this machine (a container, or another init system)";
  if (!host.unitDirs.includes(unitDir)) return `systemd does not read ${unitDir}`;
  return undefined;
}

async function runAll(host: SystemdHost, steps: string[][]): Promise<string[]> {
  const ran: string[] = [];
  for (const step of steps) {
    await host.commands.run(step);
    ran.push(step.join(" "));
  }
  return ran;
}

function assertDirectory(dir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    throw new ConfigError(`cannot use unit directory ${dir}: ${(error as Error).message}`, { hint: "give an existing directory with --unit-dir", cause: error });
  }
  if (!isDirectory) throw new ConfigError(`${dir} is not a directory`, { hint: "give an existing directory with --unit-dir" });
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** "line 12: `ExecStart=…` here, `ExecStart=…` new" — the first line that differs. */
function firstDifference(existing: string, wanted: string): string {
  const a = existing.split("\n");
  const b = wanted.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: ${JSON.stringify(a[i] ?? "")} there, ${JSON.stringify(b[i] ?? "")} here`;
  }
  return "they differ";
}

/** `ployzd install`: the unit for this node and this ployzd, written and enabled; returns what to print. */
export async function installMain(args: InstallArgs, host: SystemdHost = systemdHost(localCommands())): Promise<string> {
  const unit: PloyzdUnitOptions = {
    node: process.execPath,
    script: PLOYZD_SCRIPT,
    dataDir: args["data-dir"],
    runArgs: args.runArgs,
    ...(args.user ? { user: args.user } : {}),
    version: VERSION,
  };
  const report = await installPloyzdUnit({ unitDir: args["unit-dir"], unit, force: args.force, start: args.start }, host);
  return formatUnitReport(report, args["data-dir"]);
}

/** `ployzd uninstall`: returns what to print. */
export async function uninstallMain(args: UninstallArgs, host: SystemdHost = systemdHost(localCommands())): Promise<string> {
  return formatUnitReport(await uninstallPloyzdUnit({ unitDir: args["unit-dir"], force: args.force }, host));
}

/** What was done, then what is left to run, one step a line. */
export function formatUnitReport(report: UnitReport, dataDir?: string): string {
  const file = {
    created: `wrote ${report.unitFile}`,
    replaced: `replaced ${report.unitFile}`,
    unchanged: `${report.unitFile} is already this unit`,
    removed: `removed ${report.unitFile}`,
    absent: `no unit at ${report.unitFile}: nothing to remove`,
  }[report.file];
  const lines = [file, ...report.ran.map((command) => `ran: ${command}`)];
  if (report.skipped) lines.push(`did not run systemctl: ${report.skipped}`);
  if (report.todo.length) lines.push(report.command ? "once systemd runs this machine, run:" : report.skipped ? "to finish, run:" : "then:", ...report.todo.map((command) => `  ${command}`));
  if (report.command) lines.push("until then, start ployzd another way (your init system or supervisor), as the unit would:", `  ${report.command}`);
  if (report.file === "removed") {
    lines.push("Caddy and the cluster DNS process may still be serving (a stopping ployzd leaves them for the next one): `ployzctl dev down --data-dir DIR` stops them.");
  } else if (dataDir && report.file !== "absent") {
    const journal = report.command ? "" : "; `journalctl -u ployzd` has its output";
    lines.push(`once it runs, \`ployzctl dev up --data-dir ${dataDir}\` (as root) finds it and writes the CLI's context${journal}.`);
  }
  return `${lines.join("\n")}\n`;
}
