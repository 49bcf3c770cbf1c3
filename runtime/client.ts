import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { requestJson } from "../actors/nats/request.ts";
import { clusterStatusSchema, machineListSchema, pongSchema, type ClusterStatus, type MachineList, type Pong } from "../model/api.ts";
import { capacitySchema, containerListSchema, type Capacity, type ContainerList } from "../model/observation.ts";
import { subjects, type ApiVerb, type MachineVerb } from "../model/subjects.ts";
import {
  deployReplySchema,
  explainReplySchema,
  historyReplySchema,
  logsApiReplySchema,
  psReplySchema,
  regionLsReplySchema,
  regionSetReplySchema,
  type DeployReply,
  type ExplainReply,
  type HistoryReply,
  type LogsApiReply,
  type PsReply,
  type RegionLsReply,
  type RegionSetReply,
} from "../model/api-deploy.ts";
import type { DeployRequest } from "../model/deploy.ts";
import type { RegionRole } from "../model/region.ts";
import type { Context } from "./context.ts";
import { createDocker } from "./docker.ts";
import { pushImage } from "./images.ts";

/** A deploy waits for readiness on every candidate: minutes, not seconds. */
const DEPLOY_TIMEOUT_MS = 15 * 60_000;
import { readIdentity } from "./keys.ts";
import { connectNats } from "./nats/connect.ts";

/** Everything the CLI and TUI may ask of a cluster. Commands use only this. */
export interface PloyzClient {
  readonly context: Context;
  ping(): Promise<Pong>;
  status(): Promise<ClusterStatus>;
  machines(): Promise<MachineList>;
  capacity(machineId: string): Promise<Capacity>;
  containers(machineId: string): Promise<ContainerList>;
  crash(machineId: string, actor: string): Promise<void>;
  deploy(request: DeployRequest): Promise<DeployReply>;
  ps(namespace?: string): Promise<PsReply>;
  history(namespace: string): Promise<HistoryReply>;
  rollback(namespace: string, to?: number): Promise<DeployReply>;
  explain(namespace: string, service: string): Promise<ExplainReply>;
  logs(namespace: string, service: string, tail: number, since?: number): Promise<LogsApiReply>;
  regionSet(region: string, role: RegionRole): Promise<RegionSetReply>;
  regionLs(): Promise<RegionLsReply>;
  /** Saves `image` from the local dockerd into the cluster's image store. */
  pushImage(image: string): Promise<{ image: string; bytes: number; digest: string }>;
  close(): Promise<void>;
}

export interface ClientOptions {
  timeoutMs?: number;
}

/** Connects to the cluster a context names. Fails at once if nobody is there. */
export async function connectClient(context: Context, options: ClientOptions = {}): Promise<PloyzClient> {
  const identity = readIdentity(context.seedFile);
  const nc = await connectNats({ servers: context.servers, seed: identity.seed, name: "ployzctl", reconnect: false });
  return new NatsClient(nc, context, options.timeoutMs ?? 10_000);
}

class NatsClient implements PloyzClient {
  constructor(
    private readonly nc: NatsConnection,
    readonly context: Context,
    private readonly timeoutMs: number,
  ) {}

  private api<T>(verb: ApiVerb, schema: z.ZodType<T>, body: unknown = {}, timeoutMs = this.timeoutMs): Promise<T> {
    return requestJson(this.nc, subjects.api(verb), body, schema, { who: "ployzd (API)", timeoutMs });
  }

  private machine<T>(machineId: string, verb: MachineVerb, schema: z.ZodType<T>, body: unknown = {}): Promise<T> {
    return requestJson(this.nc, subjects.machine(machineId, verb), body, schema, { who: `machine ${machineId}`, timeoutMs: this.timeoutMs });
  }

  ping() {
    return this.api("ping", pongSchema);
  }
  status() {
    return this.api("status", clusterStatusSchema);
  }
  machines() {
    return this.api("machine.ls", machineListSchema);
  }
  capacity(machineId: string) {
    return this.machine(machineId, "observe.capacity", capacitySchema);
  }
  containers(machineId: string) {
    return this.machine(machineId, "observe.containers", containerListSchema);
  }
  async crash(machineId: string, actor: string) {
    await this.machine(machineId, "debug.crash", z.object({ type: z.literal("crashed") }).passthrough(), { actor });
  }
  deploy(request: DeployRequest) {
    return this.api("deploy", deployReplySchema, request, DEPLOY_TIMEOUT_MS);
  }
  ps(namespace?: string) {
    return this.api("ps", psReplySchema, namespace ? { namespace } : {});
  }
  history(namespace: string) {
    return this.api("history", historyReplySchema, { namespace });
  }
  rollback(namespace: string, to?: number) {
    return this.api("rollback", deployReplySchema, { namespace, ...(to ? { to } : {}) }, DEPLOY_TIMEOUT_MS);
  }
  explain(namespace: string, service: string) {
    return this.api("explain", explainReplySchema, { namespace, service });
  }
  logs(namespace: string, service: string, tail: number, since?: number) {
    return this.api("logs", logsApiReplySchema, { namespace, service, tail, ...(since ? { since } : {}) });
  }
  regionSet(region: string, role: RegionRole) {
    return this.api("region.set", regionSetReplySchema, { region, role }, DEPLOY_TIMEOUT_MS);
  }
  regionLs() {
    return this.api("region.ls", regionLsReplySchema);
  }
  async pushImage(image: string) {
    return await pushImage(this.nc, createDocker(), image);
  }
  async close() {
    await this.nc.close();
  }
}
