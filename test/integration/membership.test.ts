import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerMachine } from "../../actors/store/machines.ts";
import { InvalidStateError, MachineRemovedError } from "../../model/errors.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { declareStore, type Store } from "../../runtime/store.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";
import { connectAsMachine, createTestHome, startDevDaemon } from "../harness/daemon.ts";
import { openStore } from "../../runtime/store.ts";

let nats: TestNats;
let store: Store;
beforeAll(async () => {
  nats = await startTestNats();
  store = await declareStore(await nats.connect(), { replicas: 1, declaredBy: "test" });
});
afterAll(async () => {
  await nats?.dispose();
});

const record = (id: string, overrides: Partial<MachineRecord> = {}): MachineRecord => ({
  id,
  name: id,
  region: "local",
  storage: true,
  state: "active",
  natsUser: `U${"C".repeat(55)}`,
  joinedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  ...overrides,
});

describe("membership registration (real NATS)", () => {
  it("creates a new record, and refreshes the same identity keeping when it joined", async () => {
    await registerMachine(store.kv.machines, record("m1"));
    const again = await registerMachine(store.kv.machines, record("m1", { joinedAt: "2026-06-01T00:00:00.000Z", region: "eu" }));
    expect(again.joinedAt).toBe("2026-01-01T00:00:00.000Z");
    expect((await store.kv.machines.get("m1"))?.json()).toMatchObject({ region: "eu", joinedAt: "2026-01-01T00:00:00.000Z" });
  });

  it("refuses a removed machine coming back with its old identity, and changes nothing", async () => {
    await store.kv.machines.put("m2", JSON.stringify(record("m2", { state: "removed" })));
    await expect(registerMachine(store.kv.machines, record("m2"))).rejects.toThrow(MachineRemovedError);
    await expect(registerMachine(store.kv.machines, record("m2"))).rejects.toThrow("machine m2 was removed from the cluster and cannot come back with its old identity");
    expect((await store.kv.machines.get("m2"))?.json()).toMatchObject({ state: "removed" });
  });

  it("refuses another identity under an existing id, and an unreadable record, without overwriting", async () => {
    await registerMachine(store.kv.machines, record("m3"));
    await expect(registerMachine(store.kv.machines, record("m3", { natsUser: `U${"D".repeat(55)}` }))).rejects.toThrow(InvalidStateError);
    await store.kv.machines.put("m4", "{ broken");
    await expect(registerMachine(store.kv.machines, record("m4"))).rejects.toThrow("the membership record of m4 in the store is invalid (not valid JSON)");
    expect((await store.kv.machines.get("m4"))?.string()).toBe("{ broken");
  });
});

describe("a removed machine's daemon", () => {
  it("does not start again with its old identity", async () => {
    const home = createTestHome();
    try {
      const up = await startDevDaemon(home);
      const nc = await connectAsMachine(home);
      const s = await openStore(nc);
      const entry = await s.kv.machines.get(up.info.machineId);
      await s.kv.machines.put(up.info.machineId, JSON.stringify({ ...entry!.json<MachineRecord>(), state: "removed" }));
      await nc.close();
      expect((await home.cli("dev", "down")).code).toBe(0);
      const again = await home.cli("dev", "up");
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`machine ${up.info.machineId} was removed from the cluster and cannot come back with its old identity`);
      expect(again.stderr).toContain("join it again as a new machine");
    } finally {
      await home.dispose();
    }
  });
});
