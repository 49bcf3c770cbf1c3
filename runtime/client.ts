import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { requestJson } from "../actors/nats/request.ts";
import { clusterStatusSchema, machineListSchema, pongSchema, type ClusterStatus, type MachineList, type Pong } from "../model/api.ts";
import { capacitySchema, containerListSchema, type Capacity, type ContainerList } from "../model/observation.ts";
import { subjects, type ApiVerb, type MachineVerb } from "../model/subjects.ts";
import type { Context } from "./context.ts";
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

  private api<T>(verb: ApiVerb, schema: z.ZodType<T>, body: unknown = {}): Promise<T> {
    return requestJson(this.nc, subjects.api(verb), body, schema, { who: "ployzd (API)", timeoutMs: this.timeoutMs });
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
  async close() {
    await this.nc.close();
  }
}
