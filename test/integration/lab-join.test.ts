import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, sweepLabs, type Lab } from "../../runtime/lab/index.ts";
import { eventually } from "../harness/daemon.ts";
import { LAB_WIREGUARD_PORT, labHome, type LabHome } from "../harness/lab-ployzd.ts";

/**
 * Two lab machines, each a network namespace with its own dockerd, run the real ployzd (with its
 * nats-server, WireGuard interface, Caddy and DNS, all inside the namespace). Machine 1 starts the
 * cluster; machine 2 joins with a token from machine 1's `machine invite`, becomes a leaf node of
 * its store over the overlay, and both see each other. Tokens used twice, expired or forged are
 * refused. The lab's teardown removes every process (their command lines name the lab directory).
 */

let lab: Lab | undefined;
let m1: LabHome;
let m2: LabHome;

const json = <T = any>(result: { code: number | null; stdout: string; stderr: string }): T => {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`, { cause: error });
  }
};

beforeAll(async () => {
  await sweepLabs();
  lab = await createLab({ machines: 3 });
  m1 = labHome(lab.machine(1));
  m2 = labHome(lab.machine(2));
  await m1.start(["--machine-id", "m1", "--region", "lab", "--endpoint", lab.machine(1).endpoint(LAB_WIREGUARD_PORT), "--wireguard-interface", lab.machine(1).wireguard, "--subnet", lab.machine(1).subnet]);
}, 120_000);

afterAll(async () => {
  // The lab's teardown stops every process whose command line names its directory (ployzd, nats-server, Caddy, DNS).
  if (process.env.PLOYZ_TEST_LOGS) {
    for (const home of [m1, m2]) {
      const { readFileSync, existsSync } = await import("node:fs");
      const file = `${home?.dataDir}/logs/ployzd.log`;
      if (home && existsSync(file)) console.log(file, readFileSync(file, "utf8").split("\n").filter((l) => /"level":(40|50|60)|join/.test(l)).slice(-30).join("\n"));
    }
  }
  await lab?.destroy();
}, 120_000);

describe("joining a second machine in the lab", () => {
  it("machine 2 joins with a token from machine 1 and is ready, a leaf of the store over the overlay", async () => {
    const invite = json(await m1.cli("machine", "invite", "--json"));
    expect(invite.token).toMatch(/^ployz-invite-1\./);
    expect(invite.join).toBe(lab!.machine(1).endpoint(LAB_WIREGUARD_PORT));
    const joined = await m2.ployzd("join", invite.token, "--data-dir", m2.dataDir, "--machine-id", "m2", "--endpoint", lab!.machine(2).endpoint(LAB_WIREGUARD_PORT), "--wireguard-interface", lab!.machine(2).wireguard, "--subnet", lab!.machine(2).subnet);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toContain("as machine m2");
    await m2.start([]);

    for (const home of [m1, m2]) {
      const ls = await eventually(async () => {
        const reply = json(await home.cli("machine", "ls", "--json"));
        return reply.machines?.length === 2 ? reply : undefined;
      }, "both machines listed");
      expect(ls.machines.map((m: { id: string }) => m.id).sort()).toEqual(["m1", "m2"]);
    }
    // The store is read from machine 2 through its leaf node (status reads KV machines and more).
    const status = await m2.cli("status", "--json");
    expect(status.code, status.stderr).toBe(0);

    // Overlay ping both ways.
    const ls = json(await m1.cli("machine", "ls", "--json"));
    const overlay = (id: string) => ls.machines.find((m: { id: string }) => m.id === id).overlayIp as string;
    await eventually(async () => ((await lab!.machine(1).commands.attempt(["ping", "-6", "-n", "-c", "1", "-W", "1", overlay("m2")])).code === 0 ? true : undefined), "m1 pings m2 over the overlay");
    expect((await lab!.machine(2).commands.attempt(["ping", "-6", "-n", "-c", "1", "-W", "1", overlay("m1")])).code).toBe(0);
  }, 180_000);

  it("refuses a token used twice, an expired token and a forged token, saying which", async () => {
    const m3 = labHome(lab!.machine(3));
    const join = (token: string, dir: string) => m3.ployzd("join", token, "--data-dir", `${m3.dataDir}-${dir}`, "--machine-id", `m3-${dir}`, "--endpoint", lab!.machine(3).endpoint(LAB_WIREGUARD_PORT), "--wireguard-interface", lab!.machine(3).wireguard);

    const once = json(await m1.cli("machine", "invite", "--json"));
    expect((await join(once.token, "a")).code).toBe(0);
    const twice = await join(once.token, "b");
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toMatch(/already used|listener is closed/);

    const short = json(await m1.cli("machine", "invite", "--ttl", "1s", "--json"));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const expired = await join(short.token, "c");
    expect(expired.code).not.toBe(0);
    expect(expired.stderr).toMatch(/expired/);

    const real = json(await m1.cli("machine", "invite", "--json"));
    const body = JSON.parse(Buffer.from(real.token.slice("ployz-invite-1.".length), "base64url").toString());
    const forgedToken = `ployz-invite-1.${Buffer.from(JSON.stringify({ ...body, secret: "A".repeat(43) })).toString("base64url")}`;
    const forged = await join(forgedToken, "d");
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toMatch(/forged/);

    const storage = await m1.cli("machine", "invite", "--storage");
    expect(storage.code).not.toBe(0);
    expect(storage.stderr).toMatch(/next issue/);
  }, 120_000);
});
