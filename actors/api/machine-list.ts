import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { MachineList } from "../../model/api.ts";
import { NoResponderError, RequestTimeoutError, toErrorPayload } from "../../model/errors.ts";
import type { MachineReach } from "../../model/machine-ls.ts";
import { meshObservationSchema } from "../../model/mesh-observation.ts";
import { subjects } from "../../model/subjects.ts";
import { requestJson } from "../nats/request.ts";
import { readMachines } from "../store/machines.ts";

/**
 * How long `machine ls` waits for each machine. A machine measures its peers' latency while it
 * answers (1 s at most per peer, all at once), so this leaves room for that and no more.
 */
export const MACHINE_LS_ASK_TIMEOUT_MS = 2_500;

export interface MachineListDeps {
  nc: NatsConnection;
  machines: KV;
  answeredBy: string;
  /** Defaults to MACHINE_LS_ASK_TIMEOUT_MS. */
  askTimeoutMs?: number;
}

/** `machine ls`: the membership records (Intent), and every active member asked live, in parallel, for its side of the mesh. */
export async function readMachineList(deps: MachineListDeps): Promise<MachineList> {
  const { machines, invalid } = await readMachines(deps.machines);
  const active = machines.filter((m) => m.state === "active");
  const observation = await Promise.all(active.map((m) => askMesh(deps.nc, m.id, deps.askTimeoutMs ?? MACHINE_LS_ASK_TIMEOUT_MS)));
  return { type: "machines", machines, invalid, answeredBy: deps.answeredBy, at: new Date().toISOString(), observation };
}

/** One machine's `observe.mesh`: its answer, or why there was none (which makes it unreachable, not the list a failure). */
export async function askMesh(nc: NatsConnection, machineId: string, timeoutMs: number): Promise<MachineReach> {
  const started = performance.now();
  const at = new Date().toISOString();
  const askMs = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    const mesh = await requestJson(nc, subjects.machine(machineId, "observe.mesh"), {}, meshObservationSchema, { who: `machine ${machineId}`, timeoutMs });
    return { machine: machineId, at, reachable: true, askMs: askMs(), mesh };
  } catch (error) {
    // Nobody answered: unreachable. Anything else (an error reply, an answer that does not parse) came from it.
    const reachable = !(error instanceof NoResponderError || error instanceof RequestTimeoutError);
    return { machine: machineId, at, reachable, askMs: askMs(), error: toErrorPayload(error) };
  }
}
