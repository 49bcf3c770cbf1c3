import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import type { ReadinessProbe, ServiceSpec } from "../../model/manifest.ts";
import { capacitySchema, type Capacity } from "../../model/observation.ts";
import {
  imageReplySchema,
  instancesReplySchema,
  lockReplySchema,
  probeReplySchema,
  removedReplySchema,
  startedContainerSchema,
  type ImageReply,
  type InstancesReply,
  type ProbeReply,
  type StartedContainer,
} from "../../model/participant.ts";
import { routesReplySchema, type RoutesReply } from "../../model/routing-status.ts";
import { subjects } from "../../model/subjects.ts";
import { requestJson } from "../nats/request.ts";

/**
 * A deploy coordinator's view of the participants: one typed call per verb. Each fails at once
 * with no responder, and with a timeout sized to what it waits for.
 */
export class Participants {
  constructor(
    private readonly nc: NatsConnection,
    private readonly holder: string,
  ) {}

  capacity(machine: string, timeoutMs = 2_000): Promise<Capacity> {
    return requestJson(this.nc, subjects.machine(machine, "observe.capacity"), {}, capacitySchema, { who: `machine ${machine}`, timeoutMs });
  }

  instances(machine: string, namespace?: string, timeoutMs = 5_000): Promise<InstancesReply> {
    return requestJson(this.nc, subjects.machine(machine, "observe.instances"), namespace ? { namespace } : {}, instancesReplySchema, { who: `machine ${machine}`, timeoutMs });
  }

  routes(machine: string, timeoutMs = 2_000): Promise<RoutesReply> {
    return requestJson(this.nc, subjects.machine(machine, "observe.routes"), {}, routesReplySchema, { who: `machine ${machine}`, timeoutMs });
  }

  async lock(machine: string, namespace: string, deployId: string): Promise<void> {
    await requestJson(this.nc, subjects.machine(machine, "lock.acquire"), { namespace, deployId, holder: this.holder }, lockReplySchema, { who: `machine ${machine}` });
  }

  async unlock(machine: string, namespace: string, deployId: string): Promise<void> {
    await requestJson(this.nc, subjects.machine(machine, "lock.release"), { namespace, deployId, holder: this.holder }, z.object({ type: z.literal("released") }).passthrough(), {
      who: `machine ${machine}`,
    });
  }

  image(machine: string, image: string, timeoutMs = 5_000): Promise<ImageReply> {
    return requestJson(this.nc, subjects.machine(machine, "observe.image"), { image }, imageReplySchema, { who: `machine ${machine}`, timeoutMs });
  }

  /**
   * Starts one instance. Loading the image from the store and creating the container can take a
   * while on a cold machine: the participant gets the same budget and abandons a start it could
   * not do in time, so a start the coordinator gave up on never happens later.
   */
  start(
    machine: string,
    request: { namespace: string; deployId: string; fenceSeq: number; service: string; slot: number; revision: string; imageId: string; spec: ServiceSpec },
  ): Promise<StartedContainer> {
    return requestJson(this.nc, subjects.machine(machine, "container.start"), { ...request, budgetMs: START_BUDGET_MS }, startedContainerSchema, {
      who: `machine ${machine}`,
      timeoutMs: START_BUDGET_MS + 5_000,
    });
  }

  probe(machine: string, request: { namespace: string; deployId: string; containerId: string; probe?: ReadinessProbe }): Promise<ProbeReply> {
    return requestJson(this.nc, subjects.machine(machine, "probe.readiness"), request, probeReplySchema, { who: `machine ${machine}`, timeoutMs: probeBudgetMs(request.probe) });
  }

  async remove(machine: string, request: { namespace: string; deployId: string; fenceSeq: number; containerId: string; drainMs?: number }): Promise<boolean> {
    const reply = await requestJson(this.nc, subjects.machine(machine, "container.remove"), request, removedReplySchema, {
      who: `machine ${machine}`,
      timeoutMs: 30_000 + (request.drainMs ?? 0),
    });
    return reply.existed;
  }
}

/** How long a coordinator waits for one container start (image load included). */
export const START_BUDGET_MS = 120_000;

/** The longest a readiness probe may take by its own settings, plus a margin. */
export function probeBudgetMs(probe: ReadinessProbe | undefined): number {
  if (!probe) return 10_000;
  return probe.startPeriod + probe.retries * (probe.interval + probe.timeout) + 10_000;
}
