import { SCHEMA_VERSION } from "../../model/store-layout.ts";
import { readFileSync, existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ClusterStatus } from "../../model/api.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { isAlive } from "../../runtime/process.ts";
import { jetstreamHandles } from "../../runtime/store.ts";
import { connectAsMachine, createTestHome, eventually, readPid, startDevDaemon, type TestHome } from "../harness/daemon.ts";

let home: TestHome;
beforeEach(() => {
  home = createTestHome();
});
afterEach(async () => {
  await home.dispose();
});

describe("ployzd on one machine", () => {
  it("starts, registers its machine, and `status --json` keeps intent, status and observation apart", async () => {
    const up = await startDevDaemon(home);
    const status = await home.json<ClusterStatus>("status");
    expect(status.type).toBe("status");
    // Intent: the membership record, from the store
    expect(status.intent.machines).toHaveLength(1);
    expect(status.intent.machines[0]).toMatchObject({ id: up.info.machineId, state: "active", storage: true, region: "local" });
    expect(status.intent.machines[0]!.natsUser).toMatch(/^U[A-Z2-7]{55}$/);
    // Status: lifecycle facts, from the store
    expect(status.status.schema?.version).toBe(SCHEMA_VERSION);
    expect(status.status.nodes).toEqual([expect.objectContaining({ machine: up.info.machineId, event: "started" })]);
    // Observation: asked live, with latency, and the supervised children
    expect(status.observation).toHaveLength(1);
    const observation = status.observation[0]!;
    expect(observation.ok).toBe(true);
    if (!observation.ok) return;
    expect(observation.latencyMs).toBeGreaterThan(0);
    expect(observation.capacity.cpu.cores).toBeGreaterThan(0);
    expect(observation.capacity.memory.totalBytes).toBeGreaterThan(0);
    expect(observation.capacity.containers.ok).toBe(true);
    expect(observation.children.map((c) => [c.name, c.state])).toEqual([
      ["participant", "running"],
      ["api", "running"],
      ["reconciler", "running"],
      ["inspector", "running"],
      ["meshPeer", "running"],
      ["access", "running"],
      ["joinListener", "running"],
      ["gateway", "running"],
      ["dns", "running"],
    ]);

    const human = await home.cli("status");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/INTENT[\s\S]*STATUS[\s\S]*OBSERVATION/);
    const list = await home.json("machine", "ls");
    expect(list.machines.map((m: { id: string }) => m.id)).toEqual([up.info.machineId]);
  });

  it("`dev up` is idempotent: a second run reuses the running daemon", async () => {
    const first = await startDevDaemon(home);
    const second = await home.cli("dev", "up");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`already running: ployzd for machine ${first.info.machineId} (pid ${first.info.pid})`);
  });

  it("binds NATS to loopback and keeps keys and config 0600", async () => {
    const up = await startDevDaemon(home);
    expect(up.info.servers[0]).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const paths = dataPaths(home.dataDir);
    for (const file of [paths.machineSeed, paths.operatorSeed, paths.natsConfig, paths.clientInfo, up.contextFile]) {
      expect((await import("node:fs")).statSync(file).mode & 0o777, file).toBe(0o600);
    }
    const config = JSON.parse(readFileSync(paths.natsConfig, "utf8"));
    expect(config.host).toBe("127.0.0.1");
    expect(config.server_name).toBe(up.info.machineId);
    expect(config.authorization.users.every((u: { nkey?: string }) => typeof u.nkey === "string")).toBe(true);
  });

  it("comes back after kill -9 with every durable record intact and no stray nats-server", async () => {
    const first = await startDevDaemon(home);
    const before = await home.json<ClusterStatus>("status");
    const paths = dataPaths(home.dataDir);
    const natsPid = readPid(paths.natsPid)!;
    process.kill(first.info.pid, "SIGKILL");
    await eventually(async () => (isAlive(first.info.pid) ? undefined : true), "ployzd to die");
    expect(isAlive(natsPid)).toBe(true); // the orphan is still there

    const down = await home.cli("dev", "status");
    expect(down.code).toBe(1);
    expect(down.stdout).toContain("not running");

    const second = await startDevDaemon(home);
    expect(second.started).toBe(true);
    expect(second.info.pid).not.toBe(first.info.pid);
    expect(isAlive(natsPid)).toBe(false); // the orphan was stopped, not left to hold the port
    const after = await home.json<ClusterStatus>("status");
    expect(after.intent.machines).toEqual([{ ...before.intent.machines[0], updatedAt: expect.any(String) }]);
    expect(after.status.schema).toEqual(before.status.schema);
    expect(after.observation[0]?.ok).toBe(true);
  });

  it("survives kill -9 of both ployzd and nats-server", async () => {
    const first = await startDevDaemon(home);
    const before = await home.json<ClusterStatus>("status");
    const natsPid = readPid(dataPaths(home.dataDir).natsPid)!;
    process.kill(first.info.pid, "SIGKILL");
    process.kill(natsPid, "SIGKILL");
    await eventually(async () => (isAlive(first.info.pid) || isAlive(natsPid) ? undefined : true), "both to die");
    await startDevDaemon(home);
    const after = await home.json<ClusterStatus>("status");
    expect(after.intent.machines[0]?.joinedAt).toBe(before.intent.machines[0]?.joinedAt);
    expect(after.status.schema).toEqual(before.status.schema);
  });

  it("shuts down cleanly on SIGTERM: children stopped, the stop recorded, nats-server stopped last", async () => {
    const up = await startDevDaemon(home);
    const paths = dataPaths(home.dataDir);
    const natsPid = readPid(paths.natsPid)!;
    const down = await home.cli("dev", "down");
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`stopped ployzd (pid ${up.info.pid})`);
    expect(isAlive(up.info.pid)).toBe(false);
    expect(isAlive(natsPid)).toBe(false);
    expect(existsSync(paths.clientInfo)).toBe(false);
    const log = readFileSync(paths.daemonLog, "utf8");
    expect(log).toContain("ployzd stopped");

    const again = await home.cli("dev", "down");
    expect(again.stdout).toContain("not running");

    expect(log.indexOf("ployzd stopping")).toBeLessThan(log.indexOf("ployzd stopped"));

    await startDevDaemon(home);
    const status = await home.json<ClusterStatus>("status");
    expect(status.status.nodes[0]?.event).toBe("started");
    // the STATUS stream holds the whole lifecycle: started, stopped (recorded while stopping), started
    const nc = await connectAsMachine(home);
    try {
      const { jsm } = await jetstreamHandles(nc);
      const events: string[] = [];
      const info = await jsm.streams.info("STATUS");
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const msg = await jsm.streams.getMessage("STATUS", { seq });
        if (msg?.subject === `status._node.${up.info.machineId}`) events.push(msg.json<{ event: string }>().event);
      }
      expect(events).toEqual(["started", "stopped", "started"]);
    } finally {
      await nc.close();
    }
  });
});
