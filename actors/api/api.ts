import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import type { MachineList, Pong } from "../../model/api.ts";
import { NotFoundError } from "../../model/errors.ts";
import { API_QUEUE_GROUP, subjects } from "../../model/subjects.ts";
import { serveRequests } from "../nats/serve.ts";
import { readMachines } from "../store/machines.ts";
import { readClusterStatus } from "./cluster-status.ts";

export interface ApiDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  machines: KV;
  meta: KV;
  machineId: string;
  version: string;
  startedAt: string;
  log: Logger;
  observeTimeoutMs: number;
  /** The deploy verbs (deploy, ps, history, rollback, explain, logs, region.*). */
  verbs: Record<string, (body: unknown) => Promise<unknown>>;
}

/** The CLI's API on `ployz.api.*`, served by every daemon in one queue group. */
export function createApi(deps: ApiDeps) {
  const handle = async (verb: string, body: unknown): Promise<unknown> => {
    switch (verb) {
      case "ping":
        return { type: "pong", machine: deps.machineId, version: deps.version, pid: process.pid, startedAt: deps.startedAt } satisfies Pong;
      case "status":
        return await readClusterStatus({ ...deps, answeredBy: deps.machineId });
      case "machine.ls":
        return { type: "machines", ...(await readMachines(deps.machines)) } satisfies MachineList;
      default: {
        const handler = deps.verbs[verb];
        if (!handler) throw new NotFoundError(`the API has no verb ${verb}`);
        return await handler(body);
      }
    }
  };
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    await serveRequests(deps.nc, handle, {
      subject: subjects.apiAll(),
      queue: API_QUEUE_GROUP,
      signal,
      onError: (verb, error) => deps.log.warn({ verb, err: error }, "api request failed"),
    });
  });
}
