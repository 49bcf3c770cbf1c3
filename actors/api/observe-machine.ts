import type { NatsConnection } from "@nats-io/transport-node";
import { toErrorPayload } from "../../model/errors.ts";
import { actorsReplySchema, capacitySchema, type MachineObservation } from "../../model/observation.ts";
import { subjects } from "../../model/subjects.ts";
import { requestJson } from "../nats/request.ts";

/** Asks one machine, live, for its capacity and its actors; the answer says when and how long. */
export async function observeMachine(nc: NatsConnection, machineId: string, timeoutMs: number): Promise<MachineObservation> {
  const started = performance.now();
  const at = new Date().toISOString();
  const who = `machine ${machineId}`;
  try {
    const [capacity, actors] = await Promise.all([
      requestJson(nc, subjects.machine(machineId, "observe.capacity"), {}, capacitySchema, { who, timeoutMs }),
      requestJson(nc, subjects.machine(machineId, "observe.actors"), {}, actorsReplySchema, { who, timeoutMs }),
    ]);
    return { ok: true, machine: machineId, at, latencyMs: round(performance.now() - started), capacity, children: actors.children };
  } catch (error) {
    return { ok: false, machine: machineId, at, latencyMs: round(performance.now() - started), error: toErrorPayload(error) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
