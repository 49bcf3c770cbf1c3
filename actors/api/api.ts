import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromCallback } from "xstate";
import type { ApiEvent, ApiServerEvent } from "../../machines/api.ts";
import type { DeployInput } from "../../machines/deploy.ts";
import type { Pong } from "../../model/api.ts";
import type { DeployOutcome } from "../../model/deploy.ts";
import { DaemonStoppingError, DeployFailedError, NotFoundError } from "../../model/errors.ts";
import { API_QUEUE_GROUP, subjects } from "../../model/subjects.ts";
import { serveRequests } from "../nats/serve.ts";
import { readClusterStatus } from "./cluster-status.ts";
import { readMachineList } from "./machine-list.ts";

/** Runs one operation as a coordinator under the API actor and resolves with its outcome. */
export type RunOperation = (input: DeployInput) => Promise<DeployOutcome>;

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
  /** Told how long each answer took (metrics). */
  onAnswered?: (verb: string, seconds: number, ok: boolean) => void;
  /** The verbs beyond ping/status/machine.ls, given the way to run operations. */
  verbs: (run: RunOperation) => Record<string, (body: unknown) => Promise<unknown>>;
  /** Operations other machines forward to this one as a namespace's authority (`subjects.forwardedOperation`). */
  forwarded?: (run: RunOperation) => (body: unknown) => Promise<unknown>;
}

/**
 * The NATS side of the API actor: answers `ployz.api.*` in the queue group every daemon shares.
 * An operation (deploy, rollback, namespace rm, a region's redeploys) is asked of the API
 * statechart with RUN; its coordinator's outcome comes back as FINISHED (or REFUSED when ployzd
 * is stopping). If the subscription ends by itself, SERVER_FAILED makes the API crash, so its
 * supervisor restarts it.
 */
export function createApiServer(deps: ApiDeps) {
  return fromCallback<ApiServerEvent, { machineId: string }>(({ sendBack, receive }) => {
    const pending = new Map<string, { resolve: (outcome: DeployOutcome) => void; reject: (error: Error) => void }>();
    receive((event) => {
      const waiting = pending.get(event.deployId);
      if (!waiting) return;
      pending.delete(event.deployId);
      if (event.type === "FINISHED") waiting.resolve(event.outcome);
      else if (event.stopping) waiting.reject(new DaemonStoppingError(`deploy ${event.deployId} did not run: ${event.reason}`, { hint: "ask again once ployzd is back (`ployzctl status`)" }));
      else waiting.reject(new DeployFailedError(`deploy ${event.deployId} failed: ${event.reason}`, { hint: "a bug in ployzd: its log has the details; the namespace's reconciler settles what it left" }));
    });
    const run: RunOperation = (input) =>
      new Promise<DeployOutcome>((resolve, reject) => {
        pending.set(input.deployId, { resolve, reject });
        sendBack({ type: "RUN", input });
      });
    const verbs = deps.verbs(run);
    const handle = async (verb: string, body: unknown): Promise<unknown> => {
      switch (verb) {
        case "ping":
          return { type: "pong", machine: deps.machineId, version: deps.version, pid: process.pid, startedAt: deps.startedAt } satisfies Pong;
        case "status":
          return await readClusterStatus({ ...deps, answeredBy: deps.machineId });
        case "machine.ls":
          return await readMachineList({ nc: deps.nc, machines: deps.machines, answeredBy: deps.machineId });
        default: {
          const handler = verbs[verb];
          if (!handler) throw new NotFoundError(`the API has no verb ${verb}`);
          return await handler(body);
        }
      }
    };
    const abort = new AbortController();
    const serverFailed = (error: unknown) => {
      if (!abort.signal.aborted) sendBack({ type: "SERVER_FAILED", error: error instanceof Error ? error.message : String(error) });
    };
    if (deps.forwarded) {
      const forwarded = deps.forwarded(run);
      serveRequests(deps.nc, async (_verb, body) => await forwarded(body), {
        subject: subjects.forwardedOperation(deps.machineId),
        signal: abort.signal,
        onError: (_verb, error) => deps.log.warn({ err: error }, "forwarded operation failed"),
      }).catch(serverFailed);
    }
    serveRequests(deps.nc, handle, {
      subject: subjects.apiAll(),
      queue: API_QUEUE_GROUP,
      signal: abort.signal,
      onError: (verb, error) => deps.log.warn({ verb, err: error }, "api request failed"),
      ...(deps.onAnswered ? { onAnswered: deps.onAnswered } : {}),
    }).catch(serverFailed);
    return () => {
      abort.abort();
      for (const [id, waiting] of pending) waiting.reject(new DaemonStoppingError(`deploy ${id}: the API of ${deps.machineId} stopped before it ended`));
      pending.clear();
    };
  });
}
