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

  it("moves certificates and the ACME account out of KV secrets into KV tls (schema 2 → 3), keeping service secrets where they are", async () => {
    const own = await startTestNats();
    try {
      const nc = await own.connect();
      const store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
      // a store as schema 2 left it: everything in KV secrets
      await store.kv.secrets.put("cert.shop.example.com", JSON.stringify({ hostname: "shop.example.com", keyPem: "k" }));
      await store.kv.secrets.put("acme.account.0123456789abcdef", JSON.stringify({ key: "a" }));
      await store.kv.secrets.put("svc.shop.db-password.v1", JSON.stringify({ value: "s" }));
      // a migration that stopped half-way already copied one key: the copy in tls wins
      await store.kv.tls.put("acme.account.0123456789abcdef", JSON.stringify({ key: "already moved" }));
      await store.kv.meta.put("schema", JSON.stringify({ version: 2, declaredAt: "x", declaredBy: "old" }));

      const migrated = await declareStore(nc, { replicas: 1, declaredBy: "test-new" });
      expect((await migrated.kv.tls.get("cert.shop.example.com"))?.json()).toEqual({ hostname: "shop.example.com", keyPem: "k" });
      expect((await migrated.kv.tls.get("acme.account.0123456789abcdef"))?.json()).toEqual({ key: "already moved" });
      for (const key of ["cert.shop.example.com", "acme.account.0123456789abcdef"]) expect((await migrated.kv.secrets.get(key))?.operation ?? "gone").not.toBe("PUT");
      expect((await migrated.kv.secrets.get("svc.shop.db-password.v1"))?.json()).toEqual({ value: "s" });
      expect(await readSchema(migrated.kv.meta)).toMatchObject({ version: SCHEMA_VERSION, declaredBy: "test-new" });
    } finally {
      await own.dispose();
    }
  });
});
