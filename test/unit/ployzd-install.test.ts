import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, UnitFileDiffersError } from "../../model/errors.ts";
import type { PloyzdUnitOptions } from "../../model/systemd-unit.ts";
import { parsePloyzdArgs } from "../../runtime/ployzd-args.ts";
import { formatUnitReport, installMain, installPloyzdUnit, uninstallMain, uninstallPloyzdUnit, type SystemdHost } from "../../runtime/ployzd-install.ts";

const unit: PloyzdUnitOptions = { node: "/usr/bin/node", script: "/opt/ployz/bin/ployzd.js", dataDir: "/var/lib/ployz", version: "0.1.0" };

/** A host whose systemctl only records what it was asked. */
function fakeHost(booted: boolean, unitDirs: readonly string[] = ["/etc/systemd/system"]): SystemdHost & { calls: string[] } {
  const calls: string[] = [];
  return {
    booted,
    unitDirs,
    calls,
    commands: {
      async run(argv) {
        calls.push(argv.join(" "));
        return "";
      },
    },
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ployz-unit-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("ployzd install / uninstall into a unit directory", () => {
  it("writes the unit 0644, says systemd does not read the directory, and what to run instead", async () => {
    const host = fakeHost(true);
    const report = await installPloyzdUnit({ unitDir: dir, unit, force: false, start: false }, host);
    const file = join(dir, "ployzd.service");
    expect(report).toMatchObject({ unitFile: file, file: "created", ran: [], skipped: `systemd does not read ${dir}` });
    expect(report.todo).toEqual([`systemctl link ${file}`, "systemctl daemon-reload", "systemctl enable ployzd.service", "systemctl start ployzd.service"]);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readFileSync(file, "utf8")).toContain("ExecStart=/usr/bin/node /opt/ployz/bin/ployzd.js run --data-dir /var/lib/ployz");
    expect(host.calls).toEqual([]);
  });

  it("without systemd (a container): writes the unit, runs nothing, says why", async () => {
    const host = fakeHost(false);
    const report = await installPloyzdUnit({ unitDir: dir, unit, force: false, start: true }, host);
    expect(report.skipped).toMatch(/systemd is not running on this machine/);
    expect(host.calls).toEqual([]);
    const text = formatUnitReport(report, "/var/lib/ployz");
    expect(text).toContain(`wrote ${join(dir, "ployzd.service")}`);
    expect(text).toContain("did not run systemctl: systemd is not running");
    expect(text).toContain("once systemd runs this machine, run:\n");
    expect(text).toContain("  systemctl enable --now ployzd.service");
    expect(report.command).toBe("/usr/bin/node /opt/ployz/bin/ployzd.js run --data-dir /var/lib/ployz");
    expect(text).toContain("start ployzd another way (your init system or supervisor), as the unit would:\n  /usr/bin/node /opt/ployz/bin/ployzd.js run --data-dir /var/lib/ployz\n");
  });

  it("with systemd and a directory it reads: daemon-reload, then enable (--now with --start); uninstall disables first", async () => {
    const host = fakeHost(true, [dir]);
    const report = await installPloyzdUnit({ unitDir: dir, unit, force: false, start: true }, host);
    expect(report).toMatchObject({ file: "created", ran: ["systemctl daemon-reload", "systemctl enable --now ployzd.service"], todo: [] });
    expect(report.skipped).toBeUndefined();
    const enabled = await installPloyzdUnit({ unitDir: dir, unit, force: false, start: false }, host);
    expect(enabled).toMatchObject({ file: "unchanged", ran: ["systemctl daemon-reload", "systemctl enable ployzd.service"], todo: ["systemctl start ployzd.service"] });
    host.calls.length = 0;
    const removed = await uninstallPloyzdUnit({ unitDir: dir, force: false }, host);
    expect(removed).toMatchObject({ file: "removed", ran: ["systemctl disable --now ployzd.service", "systemctl daemon-reload"], todo: [] });
    expect(host.calls).toEqual(["systemctl disable --now ployzd.service", "systemctl daemon-reload"]);
  });

  it("a systemctl that fails fails the install, naming the command", async () => {
    const host: SystemdHost = {
      booted: true,
      unitDirs: [dir],
      commands: {
        async run(argv) {
          throw new Error(`${argv.join(" ")} failed on this machine (exit 1): Access denied`);
        },
      },
    };
    await expect(installPloyzdUnit({ unitDir: dir, unit, force: false, start: false }, host)).rejects.toThrow("systemctl daemon-reload failed on this machine (exit 1): Access denied");
  });

  it("again with the same unit: unchanged; a different one is refused without --force, replaced with it", async () => {
    const host = fakeHost(false);
    await installPloyzdUnit({ unitDir: dir, unit, force: false, start: false }, host);
    expect((await installPloyzdUnit({ unitDir: dir, unit, force: false, start: false }, host)).file).toBe("unchanged");
    const other = { ...unit, runArgs: ["--region", "eu"] };
    const refused = installPloyzdUnit({ unitDir: dir, unit: other, force: false, start: false }, host);
    await expect(refused).rejects.toBeInstanceOf(UnitFileDiffersError);
    await expect(refused).rejects.toThrow(/differs from the unit this would write \(line \d+: "ExecStart=.*" there, "ExecStart=.*--region eu" here\)/);
    expect(readFileSync(join(dir, "ployzd.service"), "utf8")).not.toContain("--region");
    expect((await installPloyzdUnit({ unitDir: dir, unit: other, force: true, start: false }, host)).file).toBe("replaced");
    expect(readFileSync(join(dir, "ployzd.service"), "utf8")).toContain("--region eu");
  });

  it("refuses a unit directory that does not exist (it is not created)", async () => {
    await expect(installPloyzdUnit({ unitDir: join(dir, "nope"), unit, force: false, start: false }, fakeHost(false))).rejects.toBeInstanceOf(ConfigError);
  });

  it("uninstall removes what install wrote; leaves a foreign unit unless forced; a missing one is nothing to do", async () => {
    const host = fakeHost(false);
    await installPloyzdUnit({ unitDir: dir, unit, force: false, start: false }, host);
    const removed = await uninstallPloyzdUnit({ unitDir: dir, force: false }, host);
    expect(removed.file).toBe("removed");
    expect(() => statSync(join(dir, "ployzd.service"))).toThrow(/ENOENT/);
    expect((await uninstallPloyzdUnit({ unitDir: dir, force: false }, host)).file).toBe("absent");

    writeFileSync(join(dir, "ployzd.service"), "[Service]\nExecStart=/bin/true\n");
    await expect(uninstallPloyzdUnit({ unitDir: dir, force: false }, host)).rejects.toThrow(/was not written by `ployzd install`/);
    expect((await uninstallPloyzdUnit({ unitDir: dir, force: true }, host)).file).toBe("removed");
    expect(host.calls).toEqual([]);
  });

  it("from the command line: the run options given are carried into ExecStart, bad ones refused", async () => {
    const parsed = parsePloyzdArgs(["install", "--unit-dir", dir, "--data-dir", "/srv/ployz", "--region", "eu", "--nats-port", "4222", "--no-inspector", "--force"]);
    if (parsed.command !== "install") throw new Error(`parsed as ${parsed.command}`);
    expect(parsed.args).toEqual({ "unit-dir": dir, user: undefined, force: true, start: false, "data-dir": "/srv/ployz", runArgs: ["--region", "eu", "--nats-port", "4222", "--no-inspector"] });
    const text = await installMain(parsed.args, fakeHost(false));
    expect(text).toContain(`wrote ${join(dir, "ployzd.service")}`);
    const written = readFileSync(join(dir, "ployzd.service"), "utf8");
    expect(written).toMatch(/^ExecStart=\/\S+\/node \/\S+\/bin\/ployzd\.js run --data-dir \/srv\/ployz --region eu --nats-port 4222 --no-inspector$/m);
    expect(await uninstallMain({ "unit-dir": dir, force: false }, fakeHost(false))).toContain(`removed ${join(dir, "ployzd.service")}`);

    expect(parsePloyzdArgs(["install"])).toMatchObject({ command: "install", args: { "unit-dir": "/etc/systemd/system", "data-dir": "/var/lib/ployz", runArgs: [] } });
    expect(() => parsePloyzdArgs(["install", "--nats-port", "http"])).toThrow('--nats-port needs a port number (0–65535), not "http"');
    expect(() => parsePloyzdArgs(["install", "--data-dir", "rel"])).toThrow(/absolute path/);
    expect(() => parsePloyzdArgs(["install", "--acme-ca", "/ca.pem"])).toThrow("--acme-ca needs --acme-directory too");
    expect(() => parsePloyzdArgs(["uninstall", "--region", "eu"])).toThrow(/Unknown option '--region'/);
    expect(parsePloyzdArgs(["install", "--help"])).toMatchObject({ command: "help", text: expect.stringContaining("--unit-dir") });
  });

  // systemd's own parser: an unknown key, a bad value or a path it would ignore is a warning on stderr.
  it.skipIf(!existsSync("/usr/bin/systemd-analyze"))("systemd-analyze verify finds nothing to say about the units it writes", async () => {
    const host = fakeHost(false);
    for (const options of [{ ...unit, node: process.execPath, runArgs: ["--region", "eu", "--no-inspector"] }, { ...unit, node: process.execPath, dataDir: "/srv/my data 100%", user: "ployz" }]) {
      await installPloyzdUnit({ unitDir: dir, unit: options, force: true, start: false }, host);
      const verify = spawnSync("systemd-analyze", ["verify", join(dir, "ployzd.service")], { encoding: "utf8" });
      expect(verify.status, verify.stderr).toBe(0);
      expect(verify.stderr.trim()).toBe("");
    }
  });
});
