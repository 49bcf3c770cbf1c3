import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { localCommands } from "../../actors/host/commands.ts";
import { readContext } from "../../runtime/context.ts";
import { runInContextNamespace } from "../../runtime/context-namespace.ts";
import { destroyLab, listNamespaces, openLabCluster, readLabState, sweepLabs } from "../../runtime/lab/index.ts";
import { runCli, type CliResult } from "../harness/cli.ts";
import { eventually } from "../harness/daemon.ts";
import { processesMentioning } from "../harness/lab-mesh.ts";

/**
 * `ployzctl dev up --machines 2` as a user runs it (root): a lab of two machines, each a network
 * namespace running ployzd, in two regions; one context per machine that the CLI enters
 * (`nsenter --net`) to reach that machine's NATS; partition and heal; one more machine; and
 * `dev down` leaves nothing: no namespace, no link, no process, no context.
 */

let home: string;
let env: NodeJS.ProcessEnv;
let labDir: string | undefined;
let labId: string | undefined;

const cli = (...args: string[]) => runCli(args, env, 120_000);
const json = <T = any>(result: CliResult): T => {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`, { cause: error });
  }
};
type Row = { id: string; region: string; reach: string };
const machineLs = async (context: string) => json<{ machines: Row[] }>(await cli("--context", context, "machine", "ls", "--json")).machines;
const reachOf = (rows: Row[], id: string) => rows.find((r) => r.id === id)?.reach;

beforeAll(async () => {
  await sweepLabs();
  home = mkdtempSync(join(tmpdir(), "ployz-dev-lab-"));
  env = { ...process.env, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data") };
  delete env.PLOYZ_CONTEXT;
  const up = await cli("dev", "up", "--machines", "2", "--regions", "eu:home_data,us:compute");
  const pointer = join(home, "config", "ployz", "dev-lab");
  if (existsSync(pointer)) labDir = readFileSync(pointer, "utf8").trim();
  labId = labDir ? readLabState(labDir)?.id : undefined;
  expect(up.code, up.stderr).toBe(0);
  expect(up.stdout).toMatch(/started lab [0-9a-f]{6} of 2 machines/);
  expect(up.stdout).toMatch(/dev-1 +eu +up/);
  expect(up.stdout).toMatch(/dev-2 +us +up/);
  expect(up.stdout).toMatch(/http:\/\/127\.0\.0\.1:[0-9]+/); // the gateway ports
  expect(up.stdout).toContain("region roles: eu=home_data, us=compute");
}, 180_000);

afterAll(async () => {
  // `dev down` is what the last test checks; if it did not run or failed, remove the lab here.
  if (labDir && existsSync(labDir)) await destroyLab(labDir);
  if (home) rmSync(home, { recursive: true, force: true });
}, 120_000);

describe("ployzctl dev: a lab of machines on this computer", () => {
  it("each machine's context reaches its machine, and every machine sees every other", async () => {
    for (const context of ["dev-1", "dev-2"]) {
      const rows = await machineLs(context);
      expect(rows.map((r) => [r.id, r.region])).toEqual([
        ["dev-1", "eu"],
        ["dev-2", "us"],
      ]);
      expect(rows.map((r) => r.reach)).toEqual(["reachable", "reachable"]);
    }
    // --machine NAME before the command is the machine's context; it answers the same API.
    const regions = json(await cli("--machine", "dev-2", "region", "ls", "--json"));
    expect(regions.regions.map((r: { name: string; role: string }) => [r.name, r.role])).toEqual([
      ["eu", "home_data"],
      ["us", "compute"],
    ]);
    const status = await cli("dev", "status");
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/dev-1 +eu +up \(pid [0-9]+\) +plz[0-9a-f]{6}m1/);
  }, 120_000);

  it("adds a machine through an invite, with a context of its own", async () => {
    const added = await cli("dev", "machine", "add", "--region", "eu");
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("added dev-3 (region eu");
    expect((await machineLs("dev-3")).map((r) => [r.id, r.reach])).toEqual([
      ["dev-1", "reachable"],
      ["dev-2", "reachable"],
      ["dev-3", "reachable"],
    ]);

    // A machine that does not answer is named when the lab cluster waits for every machine.
    const pid = json(await cli("dev", "status", "--json")).lab.machines.find((m: { name: string }) => m.name === "dev-3").pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      await expect(openLabCluster(labDir!).waitUntilMeshed(3_000)).rejects.toThrow(/lab machine dev-3 did not come up within 3 s: .*dev-3/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await openLabCluster(labDir!).waitUntilMeshed(30_000);
  }, 120_000);

  it("a partitioned machine is unreachable from the others, and back after heal", async () => {
    const cut = await cli("dev", "partition", "dev-2");
    expect(cut.code, cut.stderr).toBe(0);
    await eventually(async () => (reachOf(await machineLs("dev-1"), "dev-2") === "unreachable" ? true : undefined), "dev-1 sees dev-2 unreachable", 30_000);
    const human = await cli("--context", "dev-1", "machine", "ls");
    expect(human.stdout).toMatch(/dev-2 .*UNREACHABLE/);
    expect((await cli("dev", "status")).stdout).toMatch(/dev-2 +us +PARTITIONED/);

    const healed = await cli("dev", "heal", "dev-2");
    expect(healed.code, healed.stderr).toBe(0);
    await eventually(async () => (reachOf(await machineLs("dev-1"), "dev-2") === "reachable" ? true : undefined), "dev-1 sees dev-2 again", 60_000);
  }, 120_000);

  it("refuses what it cannot do, naming what there is", async () => {
    const nosuch = await cli("dev", "partition", "nosuch");
    expect(nosuch.code).not.toBe(0);
    expect(nosuch.stderr).toContain("no lab machine nosuch: the lab has dev-1, dev-2, dev-3");

    const machine = await cli("--machine", "nosuch", "machine", "ls");
    expect(machine.code).toBe(2);
    expect(machine.stderr).toContain("lab machines: dev-1, dev-2, dev-3");

    // Entering a lab machine's namespace takes root: anyone else is told so, and how.
    const context = readContext(env, "dev-2");
    const getuid = vi.spyOn(process, "getuid").mockReturnValue(1000);
    try {
      expect(() => runInContextNamespace(context, ["node", "ployzctl", "machine", "ls"])).toThrow(/context dev-2 is a lab machine in network namespace plz[0-9a-f]{6}m2, and only root can enter it/);
    } finally {
      getuid.mockRestore();
    }
    expect(() => runInContextNamespace({ ...context, netns: "plzgone" })).toThrow(/does not exist any more/);

    // dev up again: the lab that is up, or a refusal when it is of another size.
    const again = await cli("dev", "up", "--machines", "3");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`already up: lab ${labId} of 3 machines`);
    const other = await cli("dev", "up", "--machines", "2");
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("a lab of 3 machines is up already");

    const zero = await cli("dev", "up", "--machines", "0");
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("--machines 0: a lab has 1–50 machines");

    const regions = await cli("dev", "up", "--machines", "2", "--regions", "eu:primary");
    expect(regions.code).toBe(2);
    expect(regions.stderr).toContain('"primary" is not a region role');
  }, 60_000);

  it("dev down removes every namespace, link, process and context the lab made", async () => {
    expect(labId).toBeDefined();
    const down = await cli("dev", "down");
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`removed lab ${labId}`);
    expect(down.stdout).toContain("contexts dev-1, dev-2, dev-3");

    expect(listNamespaces().filter((ns) => ns.includes(labId!))).toEqual([]);
    expect(await localCommands().run(["ip", "netns"])).not.toContain(labId);
    expect(await localCommands().run(["ip", "-o", "link"])).not.toContain(labId);
    expect(processesMentioning(labDir!)).toEqual([]);
    expect(existsSync(labDir!)).toBe(false);
    expect(existsSync(`/run/ployz-lab/${labId}`)).toBe(false);
    for (const name of ["dev-1", "dev-2", "dev-3"]) expect(existsSync(join(home, "config", "ployz", "contexts", `${name}.json`))).toBe(false);
    expect(existsSync(join(home, "config", "ployz", "dev-lab"))).toBe(false);

    // A context of a lab that is gone says so.
    const gone = await cli("--context", "dev-1", "machine", "ls");
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('context "dev-1" does not exist');
  }, 120_000);
});
