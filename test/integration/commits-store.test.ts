import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { appendFence, appendHead, assertFence, pruneHistory, readHead, readHistory, readLastCommitsRecord } from "../../actors/deploy/commits.ts";
import { publishRouting, readInstancesDoc, writeInstancesDoc, writeNamespaceRecord } from "../../actors/deploy/derived-store.ts";
import { acquireLease, breakOrphanedLease, readLease, releaseLease, renewLease } from "../../actors/deploy/lease.ts";
import type { Commit } from "../../model/commit.ts";
import { SCHEMA_VERSION, STATUS_MAX_AGE_MS, ROUTING_KEPT_PER_SUBJECT } from "../../model/store-layout.ts";
import { declareStore, type Store } from "../../runtime/store.ts";
import { aSpec, aService } from "../fixtures/deploy.ts";
import { aRoutingRecord } from "../fixtures/routing.ts";
import { rejectionOf } from "../fixtures/errors.ts";
import { processState } from "../harness/coordinator.ts";
import { eventually } from "../harness/daemon.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";

/** The store side of deploy integrity, against a real nats-server: fences, commits, compare-and-set, leases, retention. */

let nats: TestNats;
let nc: NatsConnection;
let store: Store;
beforeAll(async () => {
  nats = await startTestNats();
  nc = await nats.connect();
  store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

const spec = aSpec({ web: aService() });
const fenceOf = (namespace: string, deployId: string) => appendFence(store.js, store.jsm, { namespace, deployId, holder: "m1", at: new Date().toISOString() });
const commitOf = (namespace: string, deployId: string, fenceSeq: number, parentSeq: number | null): Commit => ({
  type: "commit",
  namespace,
  deployId,
  authority: "m1",
  parentSeq,
  fenceSeq,
  spec: { ...spec, namespace },
  revisions: { web: "r" },
  placement: [],
  planHash: "0123456789ab",
  createdAt: new Date().toISOString(),
});

describe("commits.<ns>: fences and commits", () => {
  it("a commit lands only on its own fence; a later fence makes it fail with FencedError and write nothing", async () => {
    const first = await fenceOf("fenced", "d1");
    const second = await fenceOf("fenced", "d2"); // d2 took the namespace after d1's lease expired
    expect(second.seq).toBeGreaterThan(first.seq);
    const error = await rejectionOf(appendHead(store.js, store.jsm, commitOf("fenced", "d1", first.seq, null)));
    expect(error).toMatchObject({ code: "fenced" });
    expect(error.message).toMatch(new RegExp(`fence ${first.seq} of namespace fenced is stale: fence ${second.seq} of d2 came after it`));
    expect(await readHead(store.jsm, "fenced")).toBeNull();
    await expect(assertFence(store.jsm, "fenced", first.seq, "removing x")).rejects.toMatchObject({ code: "fenced" });

    const committed = await appendHead(store.js, store.jsm, commitOf("fenced", "d2", second.seq, null));
    expect((await readHead(store.jsm, "fenced"))?.seq).toBe(committed.seq);
    // the commit's own token still rules after it, for its roll-forward and drain
    await assertFence(store.jsm, "fenced", second.seq, "draining");
    // the fences that fence nothing any more are gone: history is commits
    expect((await readHistory(store.js, store.jsm, "fenced")).map((c) => c.seq)).toEqual([committed.seq]);
  });

  it("a fence names the head it saw, so the head is found even when a fence is last", async () => {
    const f1 = await fenceOf("named", "d1");
    const c1 = await appendHead(store.js, store.jsm, commitOf("named", "d1", f1.seq, null));
    await fenceOf("named", "d2"); // a deploy in flight
    expect((await readLastCommitsRecord(store.jsm, "named"))?.type).toBe("fence");
    expect((await readHead(store.jsm, "named"))?.seq).toBe(c1.seq);
  });

  it("the same commit sent twice (its answer lost) lands once", async () => {
    const f = await fenceOf("twice", "d1");
    const record = commitOf("twice", "d1", f.seq, null);
    const a = await appendHead(store.js, store.jsm, record);
    const b = await appendHead(store.js, store.jsm, record);
    expect(b.seq).toBe(a.seq);
    expect(await readHistory(store.js, store.jsm, "twice")).toHaveLength(1);
  });

  it("keeps the last N commits of a namespace and purges older ones, never the head", async () => {
    let parent: number | null = null;
    const seqs: number[] = [];
    for (let i = 0; i < 8; i++) {
      const f = await fenceOf("pruned", `d${i}`);
      const c = await appendHead(store.js, store.jsm, commitOf("pruned", `d${i}`, f.seq, parent));
      parent = c.seq;
      seqs.push(c.seq);
    }
    await fenceOf("pruned", "in-flight");
    expect(await pruneHistory(store.js, store.jsm, "pruned", 3)).toBeGreaterThan(0);
    expect((await readHistory(store.js, store.jsm, "pruned")).map((c) => c.seq)).toEqual(seqs.slice(-3));
    expect((await readHead(store.jsm, "pruned"))?.seq).toBe(seqs.at(-1));
    expect(await pruneHistory(store.js, store.jsm, "pruned", 3)).toBe(0);
  });

  it("refuses a record on commits.<ns> that does not parse, naming it", async () => {
    await store.js.publish("commits.garbled", JSON.stringify({ type: "commit", namespace: "garbled" }));
    const error = await rejectionOf(readHead(store.jsm, "garbled"));
    expect(error).toMatchObject({ code: "invalid-state" });
    expect(error.message).toMatch(/on commits.garbled in stream COMMITS is invalid/);
  });
});

describe("derived records: compare-and-set by head", () => {
  it("an instance document derived from an older head never replaces a newer one", async () => {
    await writeInstancesDoc(store.kv.instances, { type: "instances", namespace: "cas", commitSeq: 9, instances: [] });
    const error = await rejectionOf(writeInstancesDoc(store.kv.instances, { type: "instances", namespace: "cas", commitSeq: 7, instances: [] }));
    expect(error).toMatchObject({ code: "fenced" });
    expect(error.message).toBe("the instance records of cas derived from commit 7 not written: the store holds them from commit 9");
    expect((await readInstancesDoc(store.kv.instances, "cas")).value?.commitSeq).toBe(9);
    await writeInstancesDoc(store.kv.instances, { type: "instances", namespace: "cas", commitSeq: 9, instances: [] }); // the same head again: fine
  });

  it("so does the namespace record", async () => {
    const record = { name: "cas", authority: "m1", headSeq: 9, headDeployId: "d9", state: "active" as const, updatedAt: new Date().toISOString() };
    await writeNamespaceRecord(store.kv.namespaces, record);
    await expect(writeNamespaceRecord(store.kv.namespaces, { ...record, headSeq: 7 })).rejects.toMatchObject({ code: "fenced" });
  });

  it("a routing record of an older head is refused, also when it raced a newer one onto the stream", async () => {
    const newer = aRoutingRecord({ namespace: "cas", service: "web", commitSeq: 9 });
    const seq = await publishRouting(store.js, store.jsm, newer, 0);
    // a stale writer that read the subject before the newer record was published
    const error = await rejectionOf(publishRouting(store.js, store.jsm, { ...newer, commitSeq: 7 }, 0));
    expect(error).toMatchObject({ code: "fenced" });
    expect((await store.jsm.streams.getMessage("ROUTING", { last_by_subj: "routing.cas.web" }))?.seq).toBe(seq);
  });
});

describe("leases", () => {
  const value = { holder: "m1", deployId: "d1", since: new Date().toISOString(), incarnation: "run-1" };

  it("a second holder is refused at once, naming the first", async () => {
    const held = await acquireLease(store.kv.leases, store.js, store.jsm, "leased", value);
    const error = await rejectionOf(acquireLease(store.kv.leases, store.js, store.jsm, "leased", { ...value, holder: "m2", deployId: "d2", incarnation: "other" }));
    expect(error).toMatchObject({ code: "lease-held" });
    expect(error.message).toMatch(/is held by m1 \(deploy d1, since/);
    await releaseLease(store.kv.leases, "leased", value, held.revision);
    expect(await readLease(store.kv.leases, "leased")).toBeUndefined();
  });

  it("two renewals racing on one revision keep the lease when the stored entry is still ours", async () => {
    const held = await acquireLease(store.kv.leases, store.js, store.jsm, "raced", value);
    const [a, b] = await Promise.all([renewLease(store.kv.leases, "raced", value, held.revision), renewLease(store.kv.leases, "raced", value, held.revision)]);
    expect(a).not.toBe(b);
    expect((await readLease(store.kv.leases, "raced"))?.deployId).toBe("d1");
  });

  it("a renewal finds the lease someone else's: LeaseLostError naming them", async () => {
    const held = await acquireLease(store.kv.leases, store.js, store.jsm, "stolen", value);
    await store.kv.leases.put("deploy.stolen", JSON.stringify({ ...value, holder: "m2", deployId: "d2" }));
    const error = await rejectionOf(renewLease(store.kv.leases, "stolen", value, held.revision));
    expect(error).toMatchObject({ code: "lease-lost" });
    expect(error.message).toMatch(/now held by m2 \(deploy d2\)/);
  });

  it("a lease this machine took in an earlier run of ployzd is broken by the next run, never one of another machine or of this run", async () => {
    await acquireLease(store.kv.leases, store.js, store.jsm, "orphaned", value);
    expect(await breakOrphanedLease(store.kv.leases, "orphaned", "m2", "run-2")).toBeUndefined();
    expect(await breakOrphanedLease(store.kv.leases, "orphaned", "m1", "run-1")).toBeUndefined();
    expect(await breakOrphanedLease(store.kv.leases, "orphaned", "m1", "run-2")).toBe("d1");
    expect(await readLease(store.kv.leases, "orphaned")).toBeUndefined();
    // and a deploy of the new run takes such a lease at once instead of failing on it
    await acquireLease(store.kv.leases, store.js, store.jsm, "orphaned", value);
    const next = await acquireLease(store.kv.leases, store.js, store.jsm, "orphaned", { ...value, deployId: "d9", incarnation: "run-2" });
    expect(next.token).toBeGreaterThan(0);
    expect((await readLease(store.kv.leases, "orphaned"))?.deployId).toBe("d9");
  });
});

describe("retention", () => {
  it("ROUTING keeps a few records per service, STATUS an age; COMMITS is kept per namespace by pruning, not by the stream", async () => {
    expect((await store.jsm.streams.info("ROUTING")).config.max_msgs_per_subject).toBe(ROUTING_KEPT_PER_SUBJECT);
    expect((await store.jsm.streams.info("STATUS")).config.max_age).toBe(STATUS_MAX_AGE_MS * 1_000_000);
    const commits = (await store.jsm.streams.info("COMMITS")).config;
    expect([commits.max_msgs_per_subject, commits.max_age, commits.max_msgs]).toEqual([-1, 0, -1]);
  });

  it("a store of schema 1 is brought to schema 2: its per-instance keys go (the reconcilers derive the new documents)", async () => {
    const n2 = await startTestNats();
    try {
      const c2 = await n2.connect();
      const old = await declareStore(c2, { replicas: 1, declaredBy: "old" });
      await old.kv.meta.put("schema", JSON.stringify({ version: 1, declaredAt: new Date().toISOString(), declaredBy: "old" }));
      await old.kv.instances.put("shop.web.0", JSON.stringify({ namespace: "shop" }));
      const upgraded = await declareStore(c2, { replicas: 1, declaredBy: "new" });
      expect((await upgraded.kv.instances.get("shop.web.0"))?.operation).not.toBe("PUT");
      expect((await readInstancesDoc(upgraded.kv.instances, "shop")).value).toBeNull();
      expect(JSON.parse((await upgraded.kv.meta.get("schema"))!.string()).version).toBe(SCHEMA_VERSION);
      expect(upgraded.clusterId).toBe(old.clusterId);
      await c2.close();
    } finally {
      await n2.dispose();
    }
  });
});

describe("a store that does not answer is not an empty one", () => {
  it("reading the head of a namespace fails with StoreUnavailableError, never 'no commit'", async () => {
    const n2 = await startTestNats();
    const c2 = await n2.connect();
    try {
      const s2 = await declareStore(c2, { replicas: 1, declaredBy: "t" });
      process.kill(n2.server.pid, "SIGSTOP");
      try {
        // stopped for sure before the read (seen as 'T' in /proc): a loaded machine may take a moment
        await eventually(async () => (processState(n2.server.pid) === "T" ? true : undefined), "nats-server to be stopped", 5_000);
        const error = await rejectionOf(readHead(s2.jsm, "anything"));
        expect(error).toMatchObject({ code: "store-unavailable" });
        expect(error.message).toMatch(/could not read or write the last message of commits.anything in stream COMMITS/);
        await expect(readLease(s2.kv.leases, "anything")).rejects.toMatchObject({ code: "store-unavailable" });
      } finally {
        process.kill(n2.server.pid, "SIGCONT");
      }
    } finally {
      await c2.close().catch(() => undefined);
      await n2.dispose();
    }
  }, 30_000);
});
