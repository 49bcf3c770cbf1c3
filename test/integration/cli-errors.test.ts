import { mkdirSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dataPaths } from "../../runtime/paths.ts";
import { freePort, isAlive } from "../../runtime/process.ts";
import { runDaemon } from "../harness/cli.ts";
import { createTestHome, readPid, startDevDaemon, type TestHome } from "../harness/daemon.ts";

let home: TestHome;
beforeEach(() => {
  home = createTestHome();
});
afterEach(async () => {
  await home.dispose();
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () => resolve(server));
  });
}

/** One line on stderr, the hint on the next, non-zero exit; --json prints the same as JSON. */
function expectCleanFailure(result: { code: number | null; stdout: string; stderr: string }, message: string | RegExp) {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe("errors a user can hit", () => {
  it("no cluster set up: says so and how to start one", async () => {
    const result = await home.cli("status");
    expectCleanFailure(result, /no Ployz context in .*: no cluster has been set up/);
    expect(result.stderr).toContain("hint: start one with `ployzctl dev up`");
    const json = await home.cli("status", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: expect.objectContaining({ name: "DaemonNotRunningError", code: "daemon-not-running" }),
    });
  });

  it("daemon not running: the context points at a NATS address nobody listens on", async () => {
    await startDevDaemon(home);
    expect((await home.cli("dev", "down")).code).toBe(0);
    const result = await home.cli("status");
    expectCleanFailure(result, /no ployzd reachable at nats:\/\/127\.0\.0\.1:\d+/);
    expect(result.stderr).toContain("ployzctl dev up");
    const json = await home.cli("machine", "ls", "--json");
    expect(JSON.parse(json.stdout).error.code).toBe("daemon-not-running");
  });

  it("nats-server missing: dev up fails with an install hint and leaves nothing running", async () => {
    const env = { ...home.env, PLOYZ_NATS_SERVER: "/nonexistent/nats-server" };
    const { runCli } = await import("../harness/cli.ts");
    const result = await runCli(["dev", "up"], env);
    expectCleanFailure(result, "nats-server not found at /nonexistent/nats-server (PLOYZ_NATS_SERVER)");
    expect(result.stderr).toContain("apt-get install --no-install-recommends nats-server");
    const paths = dataPaths(home.dataDir);
    expect(existsSync(paths.daemonPid)).toBe(false);
    expect(existsSync(paths.clientInfo)).toBe(false);
  });

  it("port in use: ployzd names the port and exits non-zero; dev up reports the same", async () => {
    const port = await freePort();
    const blocker = await listen(port);
    try {
      const direct = await runDaemon(["run", "--data-dir", home.dataDir, "--nats-port", String(port)], home.env);
      expect(direct.code).toBe(1);
      expect(direct.stderr).toContain(`port 127.0.0.1:${port} (the NATS client port of this machine) is in use by another process`);
      // the machine config keeps the port: dev up now hits the same and says so
      const viaDev = await home.cli("dev", "up");
      expectCleanFailure(viaDev, `port 127.0.0.1:${port}`);
      expect(existsSync(dataPaths(home.dataDir).daemonPid)).toBe(false);
    } finally {
      blocker.close();
    }
    // with the port free again the same machine starts (its DNS kept off port 53, which another
    // cluster on this computer may hold)
    const up = await home.cli("dev", "up", "--dns-port", "0");
    expect(up.code, up.stderr).toBe(0);
  });

  it("data directory not writable: says which and why", async () => {
    const file = join(home.root, "a-file");
    writeFileSync(file, "");
    const result = await home.cli("dev", "up", "--data-dir", join(file, "data"));
    expectCleanFailure(result, new RegExp(`data directory ${file}/data is not writable \\(ENOTDIR`));
    expect(result.stderr).toContain("--data-dir");
  });

  it("malformed machine config: names the file and the field, and changes nothing", async () => {
    const paths = dataPaths(home.dataDir);
    mkdirSync(home.dataDir, { recursive: true });
    writeFileSync(paths.machine, "{ this is not json");
    const notJson = await home.cli("dev", "up");
    expectCleanFailure(notJson, `machine config ${paths.machine} is not valid JSON`);
    expect(readFileSync(paths.machine, "utf8")).toBe("{ this is not json");

    writeFileSync(paths.machine, JSON.stringify({ version: 1, machineId: "Bad.Id", name: "x", region: "local", storage: true, nats: { host: "127.0.0.1", clientPort: 4222 }, createdAt: "now" }));
    const badField = await home.cli("dev", "up");
    expectCleanFailure(badField, `machine config ${paths.machine} is invalid at machineId`);
  });

  it("malformed context: names the file", async () => {
    await startDevDaemon(home);
    const file = join(home.env.XDG_CONFIG_HOME!, "ployz", "contexts", "dev.json");
    writeFileSync(file, "garbage");
    const result = await home.cli("status");
    expectCleanFailure(result, `context ${file} is not valid JSON`);
    writeFileSync(file, JSON.stringify({ name: "dev", servers: ["http://x"], seedFile: "/x", machineId: "m" }));
    expectCleanFailure(await home.cli("status"), `context ${file} is invalid at servers.0: must be a nats:// URL`);
    const unknownContext = await home.cli("status", "--context", "nosuch");
    expectCleanFailure(unknownContext, 'context "nosuch" does not exist');
  });

  it("a second ployzd on the same data directory is refused", async () => {
    const up = await startDevDaemon(home);
    const second = await runDaemon(["run", "--data-dir", home.dataDir], home.env);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another ployzd (pid ${up.info.pid}) already runs with this data directory`);
    expect(isAlive(up.info.pid)).toBe(true);
  });

  it("usage errors exit 2 and say what is wrong", async () => {
    const unknown = await home.cli("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown argument: frobnicate/i);
    const missing = await home.cli("debug", "crash");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Not enough non-option arguments/i);
  });

  it("debug crash without --fault-injection is refused by the daemon", async () => {
    await startDevDaemon(home);
    const result = await home.cli("debug", "crash", "api");
    expectCleanFailure(result, /fault injection is off on machine .* \(start ployzd with --fault-injection\)/);
  });
});
