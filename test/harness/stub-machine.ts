import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { openStore } from "../../runtime/store.ts";
import { subjects, type MachineVerb } from "../../model/subjects.ts";
import type { MachineRecord } from "../../model/machine.ts";

/**
 * Failure injection: a member whose participant answers only some verbs, as a machine does whose
 * ployzd dies part-way through a deploy. Everything else in the test (daemon, coordinator, store,
 * the real participant) is real. Its membership record is removed on dispose.
 */
export async function startStubMachine(nc: NatsConnection, id: string, answers: MachineVerb[]): Promise<{ dispose(): Promise<void>; requests: string[] }> {
  const store = await openStore(nc);
  const now = new Date().toISOString();
  const record: MachineRecord = {
    id,
    name: id,
    region: "local",
    storage: false,
    state: "active",
    natsUser: `U${"B".repeat(55)}`,
    joinedAt: now,
    updatedAt: now,
  };
  await store.kv.machines.put(id, JSON.stringify(record));
  const requests: string[] = [];
  const subs: Subscription[] = answers.map((verb) =>
    nc.subscribe(subjects.machine(id, verb), {
      callback: (_error, msg) => {
        requests.push(verb);
        msg.respond(JSON.stringify(reply(id, verb, msg.json<Record<string, unknown>>())));
      },
    }),
  );
  await nc.flush();
  return {
    requests,
    async dispose() {
      for (const sub of subs) sub.unsubscribe();
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
    case "lock.acquire":
      return { type: "locked", machine, namespace: body.namespace, deployId: body.deployId };
    case "lock.release":
      return { type: "released", machine, released: true };
    default:
      return { type: "error", error: { name: "Error", code: "internal", message: `the stub does not implement ${verb}` } };
  }
}
