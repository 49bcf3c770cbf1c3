import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { createActor, type Actor } from "xstate";
import { createMeshEffects } from "../../actors/mesh/mesh-effects.ts";
import { createWatchMachines } from "../../actors/mesh/watch-machines.ts";
import { createWireGuardKeyFile } from "../../actors/mesh/wireguard-keys.ts";
import { registerMachine } from "../../actors/store/machines.ts";
import { meshPeerMachine } from "../../machines/mesh-peer.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { overlayAddress } from "../../model/overlay-address.ts";
import { workloadGateway } from "../../model/workload-subnet.ts";
import { LAB_WIREGUARD_PORT, type LabMachine } from "../../runtime/lab/index.ts";
import { aNatsUser } from "../fixtures/machines.ts";

export { LAB_WIREGUARD_PORT };

/** A lab machine with a WireGuard identity and a membership record. */
export interface MeshedLabMachine {
  machine: LabMachine;
  record: MachineRecord;
  privateKeyFile: string;
}

/** Gives a lab machine a WireGuard key pair (in its directory) and registers it in KV machines. */
export async function registerLabMachine(machines: KV, machine: LabMachine, overrides: Partial<MachineRecord> = {}): Promise<MeshedLabMachine> {
  const privateKeyFile = join(machine.dir, "wireguard.key");
  const publicKey = createWireGuardKeyFile(privateKeyFile);
  const now = new Date().toISOString();
  const record: MachineRecord = {
    id: machine.name,
    name: machine.name,
    region: "lab",
    storage: machine.index === 1,
    state: "active",
    natsUser: aNatsUser(machine.name),
    wireguard: { publicKey, endpoint: machine.endpoint(LAB_WIREGUARD_PORT) },
    overlayIp: overlayAddress(publicKey),
    subnet: machine.subnet,
    joinedAt: now,
    updatedAt: now,
    ...overrides,
  };
  await registerMachine(machines, record);
  return { machine, record, privateKeyFile };
}

export type MeshPeerActor = Actor<typeof meshPeerMachine>;

/** Starts the real meshPeer of a lab machine: KV machines watched, WireGuard applied inside its namespace. */
export function startLabMeshPeer(nc: NatsConnection, machines: KV, meshed: MeshedLabMachine, statsIntervalMs = 250): MeshPeerActor {
  const { machine } = meshed;
  const effects = createMeshEffects({
    commands: machine.commands,
    wireguard: {
      name: machine.wireguard,
      privateKeyFile: meshed.privateKeyFile,
      listenPort: LAB_WIREGUARD_PORT,
      logFile: join(machine.dir, "wireguard-go.log"),
      // With a dockerd, the machine's own traffic to peers' containers leaves from its workload gateway.
      ...(machine.docker ? { workloadAddress: workloadGateway(machine.subnet) } : {}),
    },
    ...(machine.docker ? { workloadBridge: "docker0" } : {}),
  });
  const logic = meshPeerMachine.provide({ actors: { watchMachines: createWatchMachines(nc, machines), ...effects } });
  const actor = createActor(logic, { input: { name: "meshPeer", mesh: { machineId: machine.name, subnet: machine.subnet, statsIntervalMs } } });
  actor.start();
  return actor;
}

/** Pids of the processes (other than this one) whose command line mentions `text`: what a teardown must leave none of. */
export function processesMentioning(text: string): string[] {
  return readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p) && Number(p) !== process.pid && cmdlineOf(p).includes(text));
}

function cmdlineOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return ""; // exited meanwhile
    throw error;
  }
}

/** Stops the meshPeers, then removes the lab and the test's nats-server, failing when any of it fails. */
export async function disposeMeshLab(peers: Array<{ stop(): void }>, lab: { destroy(): Promise<void> } | undefined, nats: { dispose(): Promise<void> } | undefined): Promise<void> {
  for (const actor of peers) actor.stop();
  const failures: unknown[] = [];
  await lab?.destroy().catch((error: unknown) => failures.push(error));
  await nats?.dispose().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw new AggregateError(failures, "clean-up failed");
}
