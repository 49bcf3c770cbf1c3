import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine } from "../harness/daemon.ts";
import { startStubMachine } from "../harness/stub-machine.ts";

let cluster: TestCluster;
let nc: NatsConnection;
beforeAll(async () => {
  cluster = await startTestCluster();
  nc = await connectAsMachine(cluster.home);
}, 120_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.dispose();
});

describe("ployzctl machine ls", () => {
  it("shows each member's record beside its live answer; a member that does not answer is shown unreachable, not an error", async () => {
    const answering = await startStubMachine(nc, "stub-answers", ["observe.mesh"]);
    const silent = await startStubMachine(nc, "stub-silent", []);
    try {
      const started = Date.now();
      const json = await cluster.home.json("machine", "ls");
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(json).toMatchObject({ type: "machines", answeredBy: cluster.machineId });
      const byId = Object.fromEntries(json.machines.map((m: { id: string }) => [m.id, m]));
      expect(Object.keys(byId).sort()).toEqual([cluster.machineId, "stub-answers", "stub-silent"].sort());
      // The one real machine holds the store and answers; without WireGuard its mesh is off.
      expect(byId[cluster.machineId]).toMatchObject({ store: "storage", state: "active", reach: "reachable", mesh: "off", peers: [] });
      expect(byId[cluster.machineId].askMs).toBeGreaterThanOrEqual(0);
      expect(byId["stub-answers"]).toMatchObject({ store: "leaf", reach: "reachable", mesh: "off" });
      expect(byId["stub-silent"]).toMatchObject({ store: "leaf", reach: "unreachable" });
      expect(byId["stub-silent"].mesh).toBeUndefined();
      expect(byId["stub-silent"].error).toMatch(/no responder for ployz\.m\.stub-silent\.observe\.mesh/);
      expect(answering.requests).toContain("observe.mesh");

      const human = await cluster.home.cli("machine", "ls");
      expect(human.code).toBe(0);
      const lines = human.stdout.split("\n");
      expect(lines[0]).toMatch(/^ID\s+NAME\s+REGION\s+ZONE\s+STORE\s+STATE\s+SUBNET\s+OVERLAY\s+REACH\s+MESH$/);
      expect(lines.find((l) => l.startsWith(`${cluster.machineId} `))).toMatch(/\sstorage\s+active\s.*\syes \(\d+ms\)\s+off$/);
      expect(lines.find((l) => l.startsWith("stub-silent "))).toMatch(/\sleaf\s+active\s.*\sUNREACHABLE\s+-$/);
      expect(human.stdout).toMatch(/^! stub-silent: .*no responder/m);
    } finally {
      await answering.dispose();
      await silent.dispose();
    }
  });
});
