import { z } from "zod";
import { compareText } from "./compare.ts";
import type { MachineRecord } from "./machine.ts";
import { meshObservationSchema, type MeshObservation, type PeerLinkState } from "./mesh-observation.ts";

/**
 * One active member asked live for its side of the mesh (`ployz.m.<id>.observe.mesh`) while
 * `machine ls` was being answered. Unreachable (no responder, no answer in time) is a fact about
 * that machine, never a failure of the whole list. Never stored.
 */
export const machineReachSchema = z.object({
  machine: z.string(),
  at: z.string(),
  /** It answered (possibly with an error of its own); false: nobody answered in time. */
  reachable: z.boolean(),
  /** How long the question took, from the machine that answered `machine ls`. */
  askMs: z.number(),
  mesh: meshObservationSchema.optional(),
  error: z.object({ name: z.string(), code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});
export type MachineReach = z.infer<typeof machineReachSchema>;

/** Whether a machine holds the store (a JetStream server) or reaches it through a leaf node. */
export type StoreRole = "storage" | "leaf";

/** One member's peer as that member sees it now. */
export interface MachinePeerRow {
  machine: string;
  name: string;
  state: PeerLinkState;
  handshakeAgeMs: number | null;
  latencyMs: number | null;
}

/** One member as `machine ls` shows it: Intent from KV `machines` beside what it said just now. */
export interface MachineLsRow {
  id: string;
  name: string;
  region: string;
  zone: string | undefined;
  store: StoreRole;
  state: "active" | "removed";
  subnet: string | undefined;
  overlayIp: string | undefined;
  endpoint: string | undefined;
  /** `not-asked`: a removed member is not asked. */
  reach: "reachable" | "unreachable" | "not-asked";
  askMs: number | undefined;
  /** Why it is unreachable, or the error it answered with. */
  error: string | undefined;
  /** Its meshPeer's state (`off` on a machine without WireGuard); undefined when not known. */
  mesh: MeshObservation["state"] | undefined;
  peers: MachinePeerRow[];
}

/** Joins each membership record with the live answer of that machine (by id), in id order. */
export function machineLsRows(list: { machines: readonly MachineRecord[]; observation: readonly MachineReach[] }): MachineLsRow[] {
  const answers = new Map(list.observation.map((o) => [o.machine, o]));
  return [...list.machines]
    .sort((a, b) => compareText(a.id, b.id))
    .map((m): MachineLsRow => {
      const answer = m.state === "active" ? answers.get(m.id) : undefined;
      const mesh = answer?.mesh;
      return {
        id: m.id,
        name: m.name,
        region: m.region,
        zone: m.zone,
        store: m.storage ? "storage" : "leaf",
        state: m.state,
        subnet: m.subnet,
        overlayIp: m.overlayIp,
        endpoint: m.wireguard?.endpoint,
        reach: answer === undefined ? "not-asked" : answer.reachable ? "reachable" : "unreachable",
        askMs: answer?.askMs,
        error: answer?.error?.message ?? mesh?.error,
        mesh: mesh?.state,
        peers: (mesh?.peers ?? []).map((p) => ({ machine: p.machine, name: p.name, state: p.state, handshakeAgeMs: p.handshakeAgeMs, latencyMs: p.latencyMs })),
      };
    });
}
