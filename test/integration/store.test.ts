import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declareStore, readSchema } from "../../runtime/store.ts";
import { SCHEMA_VERSION, STORE_LAYOUT } from "../../model/store-layout.ts";
import { InvalidStateError } from "../../model/errors.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.dispose();
});

describe("store declaration", () => {
  it("declares every stream, bucket and object store, and is idempotent", async () => {
    const nc = await nats.connect();
    const first = await declareStore(nc, { replicas: 1, declaredBy: "test-a" });
    await first.kv.machines.put("m1", JSON.stringify({ hello: "world" }));
    await first.js.publish("status._node.m1", JSON.stringify({ n: 1 }));

    const second = await declareStore(nc, { replicas: 1, declaredBy: "test-b" });
    const names: string[] = [];
    for await (const info of second.jsm.streams.list()) names.push(info.config.name);
    for (const spec of STORE_LAYOUT) {
      const stream = spec.kind === "kv" ? `KV_${spec.name}` : spec.kind === "obj" ? `OBJ_${spec.name}` : spec.name;
      expect(names).toContain(stream);
    }
    expect(names).toHaveLength(STORE_LAYOUT.length);
    // data written between the two declarations is still there
    expect((await second.kv.machines.get("m1"))?.json()).toEqual({ hello: "world" });
    expect((await second.jsm.streams.info("STATUS")).state.messages).toBe(1);
    // the schema record names the first declarer: an up-to-date store is not rewritten
    const schema = await readSchema(second.kv.meta);
    expect(schema).toMatchObject({ version: SCHEMA_VERSION, declaredBy: "test-a" });
  });

  it("gives lease and lock buckets a max age, since NATS 2.9 has no per-key TTL", async () => {
    const nc = await nats.connect();
    const store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
    const info = await store.jsm.streams.info("KV_leases");
    expect(info.config.max_age).toBeGreaterThan(0);
    expect((await store.jsm.streams.info("KV_machines")).config.max_age).toBe(0);
  });

  it("refuses a store written by a newer schema and changes nothing", async () => {
    const nc = await nats.connect();
    const store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
    const newer = { version: SCHEMA_VERSION + 1, declaredAt: new Date().toISOString(), declaredBy: "future-ployzd" };
    await store.kv.meta.put("schema", JSON.stringify(newer));
    await expect(declareStore(nc, { replicas: 1, declaredBy: "test" })).rejects.toThrow(InvalidStateError);
    await expect(declareStore(nc, { replicas: 1, declaredBy: "test" })).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1} .*future-ployzd`));
    expect(await readSchema(store.kv.meta)).toMatchObject(newer);
    await store.kv.meta.put("schema", JSON.stringify({ version: SCHEMA_VERSION, declaredAt: "x", declaredBy: "restored" }));
  });
});
