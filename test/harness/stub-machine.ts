import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { openStore } from "../../runtime/store.ts";
import { subjects, type MachineVerb } from "../../model/subjects.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { inboxPrefix } from "../../model/roles.ts";
import { createUser } from "@nats-io/nkeys";
import { connectNats } from "../../runtime/nats/connect.ts";
import { eventually } from "./daemon.ts";

/**
 * Failure injection: a member whose participant answers only some verbs, as a machine does whose
 * ployzd dies part-way through a deploy. It is a real member with an identity of its own (a key
 * made here, registered in KV machines, admitted by ployzd's `access` actor), so NATS lets it
 * serve `ployz.m.<id>.>` and nothing else. Everything else in the test is real. Its membership
 * record is removed on dispose.
 */
export async function startStubMachine(nc: NatsConnection, id: string, answers: MachineVerb[]): Promise<{ dispose(): Promise<void>; requests: string[] }> {
  const store = await openStore(nc);
  const user = createUser();
  const now = new Date().toISOString();
  const record: MachineRecord = {
    id,
    name: id,
    region: "local",
    storage: false,
    state: "active",
    natsUser: user.getPublicKey(),
    joinedAt: now,
    updatedAt: now,
  };
  await store.kv.machines.put(id, JSON.stringify(record));
  const servers = nc.getServer();
  // admitted once ployzd's access actor has reloaded nats-server
  const own = await eventually(
    () => connectNats({ servers: [servers], seed: user.getSeed(), name: `stub ${id}`, inboxPrefix: inboxPrefix({ role: "machine", name: id }), reconnect: false }),
    `stub machine ${id} to be admitted by nats-server`,
    10_000,
  );
  const requests: string[] = [];
  const subs: Subscription[] = answers.map((verb) =>
    own.subscribe(subjects.machine(id, verb), {
      callback: (_error, msg) => {
        requests.push(verb);
        msg.respond(JSON.stringify(reply(id, verb, msg.json<Record<string, unknown>>())));
      },
    }),
  );
  await own.flush();
  return {
    requests,
    async dispose() {
      for (const sub of subs) sub.unsubscribe();
      await own.close();
      await store.kv.machines.delete(id);
    },
  };
}

function reply(machine: string, verb: MachineVerb, body: Record<string, unknown>): unknown {
  const at = new Date().toISOString();
  switch (verb) {
    case "observe.capacity":
      return {
        type: "capacity",
        machine,
        at,
        cpu: { cores: 64, load1m: 0 },
        memory: { totalBytes: 512 * 1024 ** 3, freeBytes: 500 * 1024 ** 3 },
        disk: { path: "/", totalBytes: 1e12, freeBytes: 1e12 },
        containers: { ok: true, running: 0, total: 0 },
      };
    case "observe.instances":
      return { type: "instances", machine, at, containers: [] };
    case "observe.mesh":
      return { type: "mesh", machine, at, state: "off", peers: [], ignored: [] };
    case "lock.acquire":
      return { type: "locked", machine, namespace: body.namespace, deployId: body.deployId };
    case "lock.release":
      return { type: "released", machine, released: true };
    default:
      return { type: "error", error: { name: "Error", code: "internal", message: `the stub does not implement ${verb}` } };
  }
}
