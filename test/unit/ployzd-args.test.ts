import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../model/errors.ts";
import { parsePloyzdArgs, RUN_OPTIONS } from "../../runtime/ployzd-args.ts";

describe("ployzd's command line", () => {
  it("run: every option, numbers as numbers, defaults where absent", () => {
    const parsed = parsePloyzdArgs(["run", "--data-dir", "/d", "--machine-id=m1", "--nats-port", "4222", "--dns-port", "0", "--fault-injection", "--inspect"]);
    expect(parsed).toEqual({
      command: "run",
      args: expect.objectContaining({ "data-dir": "/d", "machine-id": "m1", "nats-port": 4222, "dns-port": 0, "fault-injection": true, inspect: true, "inspect-url": "ws://127.0.0.1:8080", inspector: true, "reconcile-interval-ms": 30_000, region: undefined }),
    });
  });

  it("a boolean that defaults to true is turned off with --no-…", () => {
    const parsed = parsePloyzdArgs(["run", "--no-inspector"]);
    expect(parsed.command === "run" && parsed.args.inspector).toBe(false);
  });

  it("refuses what it does not know, ports that are not ports, and options missing what they need", () => {
    const refused = (argv: string[]) => {
      try {
        parsePloyzdArgs(argv);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${argv.join(" ")}`);
    };
    expect(refused(["run", "--datadir", "/d"])).toMatch(/^Unknown option '--datadir' \(see ployzd run --help\)$/);
    expect(refused(["run", "--nats-port", "http"])).toBe('--nats-port needs a port number (0–65535), not "http"');
    expect(refused(["run", "--gateway-port", "70000"])).toMatch(/^--gateway-port needs a port number/);
    expect(refused(["run", "--acme-email", "ops@example.test"])).toBe("--acme-email needs --acme-directory too");
    expect(refused(["run", "--reconcile-interval-ms", "1.5"])).toBe('--reconcile-interval-ms needs a whole number, not "1.5"');
    expect(refused(["run", "extra"])).toMatch(/Unexpected argument 'extra'/);
    expect(refused(["serve"])).toBe('no command "serve": say `ployzd run` (see ployzd --help)');
  });

  it("help lists every option of run; version, with or without JSON", () => {
    const help = parsePloyzdArgs(["run", "--help"]);
    expect(help.command).toBe("help");
    for (const name of Object.keys(RUN_OPTIONS)) expect(help.command === "help" && help.text).toContain(`-${name}`);
    expect(parsePloyzdArgs([])).toMatchObject({ command: "help" });
    expect(parsePloyzdArgs(["--version"])).toEqual({ command: "version", json: false });
    expect(parsePloyzdArgs(["version", "--json"])).toEqual({ command: "version", json: true });
    expect(parsePloyzdArgs(["dns", "--config", "/d/dns.json"])).toEqual({ command: "dns", config: "/d/dns.json" });
    expect(() => parsePloyzdArgs(["dns"])).toThrow(/needs --config/);
  });
});
