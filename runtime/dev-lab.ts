import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, InvalidStateError, NetworkNamespaceError } from "../model/errors.ts";
import type { LabRegion } from "../model/lab-regions.ts";
import { contextPaths, listContexts, removeContext, writeContext, type Context } from "./context.ts";
import { writeFileAtomic } from "./files.ts";
import { destroyLab, labIdOf, MAX_LAB_MACHINES, openLabCluster, readLabState, startLabCluster, type LabCluster, type LabClusterMachine } from "./lab/index.ts";
import { isAlive } from "./process.ts";

/** Lab machine n is `dev-<n>`: its machine id and its context's name. */
export const DEV_LAB_PREFIX = "dev";

/** Where this account remembers its dev lab: a file holding the lab's directory, beside the contexts. */
export function devLabPointer(env: NodeJS.ProcessEnv): string {
  return join(contextPaths(env).dir, "dev-lab");
}

/** The directory of this account's dev lab, or undefined when it has none. */
export function devLabDir(env: NodeJS.ProcessEnv): string | undefined {
  const pointer = devLabPointer(env);
  return existsSync(pointer) ? readFileSync(pointer, "utf8").trim() || undefined : undefined;
}

/** One lab machine as the dev commands show it. */
export interface DevLabMachine {
  name: string;
  region: string;
  namespace: string;
  underlayIp: string;
  context: string;
  partitioned: boolean;
  /** ployzd's pid while it runs. */
  pid: number | undefined;
  servers: string[];
  gateway: string | undefined;
  gatewayHttps: string | undefined;
  dns: string | undefined;
}

export interface DevLab {
  id: string;
  dir: string;
  regions: LabRegion[];
  machines: DevLabMachine[];
}

/**
 * `ployzctl dev up --machines N`: a lab cluster of N machines kept after this process exits, and
 * one context per machine (`dev-1` … `dev-N`, naming the machine's network namespace; `dev-1`
 * becomes the current one). Refused when this account already has a lab of another size.
 */
export async function devLabUp(options: { machines: number; regions: readonly LabRegion[]; env: NodeJS.ProcessEnv }): Promise<{ started: boolean; lab: DevLab }> {
  if (!Number.isInteger(options.machines) || options.machines < 1 || options.machines > MAX_LAB_MACHINES) {
    throw new InvalidArgumentError(`--machines ${options.machines}: a lab has 1–${MAX_LAB_MACHINES} machines`);
  }
  requireRoot("dev up --machines");
  const existing = devLabDir(options.env);
  if (existing && readLabState(existing)) {
    const lab = devLabStatus(options.env)!;
    if (lab.machines.length !== options.machines) {
      throw new InvalidStateError(`a lab of ${lab.machines.length} machines is up already (${lab.dir})`, { hint: "`ployzctl dev down` removes it; `ployzctl dev machine add` grows it" });
    }
    return { started: false, lab };
  }
  // The pointer is written as soon as the lab exists, so `dev down` finds a lab whose `dev up` was interrupted.
  let made: string | undefined;
  const pointTo = (dir: string) => writeFileAtomic(devLabPointer(options.env), `${(made = dir)}\n`, 0o600);
  let cluster: LabCluster;
  try {
    cluster = await startLabCluster({ machines: options.machines, regions: options.regions, prefix: DEV_LAB_PREFIX, owner: null, made: pointTo });
  } catch (error) {
    // startLabCluster removed the lab; if it could not wholly, the pointer stays for `dev down`.
    if (made === undefined || !existsSync(made)) rmSync(devLabPointer(options.env), { force: true });
    throw error;
  }
  for (const machine of cluster.machines) writeMachineContext(machine, options.env, machine.index === 1);
  return { started: true, lab: devLabStatus(options.env)! };
}

/** `ployzctl dev machine add`: one more lab machine, joined through an invite, with its context. */
export async function devLabAddMachine(options: { region?: string; env: NodeJS.ProcessEnv }): Promise<DevLabMachine> {
  requireRoot("dev machine add");
  const cluster = openDevLab(options.env);
  const added = await cluster.addMachine(options.region);
  writeMachineContext(added, options.env, false);
  return devLabStatus(options.env)!.machines.find((m) => m.name === added.name)!;
}

/** `ployzctl dev partition NAME` / `dev heal NAME`: cuts or restores the machine's underlay link. */
export async function devLabPartition(options: { name: string; cut: boolean; env: NodeJS.ProcessEnv }): Promise<DevLabMachine> {
  requireRoot(options.cut ? "dev partition" : "dev heal");
  const cluster = openDevLab(options.env);
  await (options.cut ? cluster.partition(options.name) : cluster.heal(options.name));
  return devLabStatus(options.env)!.machines.find((m) => m.name === options.name)!;
}

/**
 * The lab part of `ployzctl dev down`: removes everything the lab made (namespaces, interfaces,
 * processes, dockerds and their containers, its directory), then its contexts and the pointer.
 * Undefined when this account has no lab.
 */
export async function devLabDown(env: NodeJS.ProcessEnv): Promise<{ id: string; dir: string; contexts: string[] } | undefined> {
  const dir = devLabDir(env);
  if (!dir) return undefined;
  requireRoot("dev down (of a lab)");
  const id = readLabState(dir)?.id ?? dir.split("/").pop()!;
  if (existsSync(dir)) await destroyLab(dir);
  const contexts = listContexts(env).filter((c) => c.netns !== undefined && labIdOf(c.netns) === id);
  for (const context of contexts) removeContext(env, context.name);
  rmSync(devLabPointer(env), { force: true });
  return { id, dir, contexts: contexts.map((c) => c.name) };
}

/** This account's lab as it is now (no network: what its files and processes say), or undefined without one. */
export function devLabStatus(env: NodeJS.ProcessEnv): DevLab | undefined {
  const dir = devLabDir(env);
  const state = dir ? readLabState(dir) : undefined;
  if (!dir || !state) return undefined;
  const cluster = openLabCluster(dir);
  return {
    id: state.id,
    dir,
    regions: [...cluster.regions],
    machines: cluster.machines.map((m) => {
      const info = m.home.clientInfo();
      return {
        name: m.name,
        region: m.region,
        namespace: m.lab.namespace,
        underlayIp: m.lab.underlayIp,
        context: m.name,
        partitioned: state.partitioned.includes(m.index),
        pid: info && isAlive(info.pid) ? info.pid : undefined,
        servers: info?.servers ?? [],
        gateway: info?.gateway,
        gatewayHttps: info?.gatewayHttps,
        dns: info?.dns,
      };
    }),
  };
}

function openDevLab(env: NodeJS.ProcessEnv): LabCluster {
  const dir = devLabDir(env);
  if (!dir || !readLabState(dir)) throw new InvalidStateError("no dev lab is up", { hint: "make one with `ployzctl dev up --machines N`" });
  return openLabCluster(dir);
}

/** The context of a lab machine: its ployzd's NATS (loopback of its namespace) and the namespace to enter. */
function writeMachineContext(machine: LabClusterMachine, env: NodeJS.ProcessEnv, makeCurrent: boolean): string {
  const info = machine.home.clientInfo();
  if (!info) throw new InvalidStateError(`lab machine ${machine.name} has no client info (${machine.home.dataDir}/client.json): its ployzd is not ready`);
  const context: Context = { name: machine.name, servers: info.servers, seedFile: info.seedFile, machineId: info.machineId, dataDir: machine.home.dataDir, netns: machine.lab.namespace };
  return writeContext(context, env, { makeCurrent });
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new NetworkNamespaceError(`${what} needs root: lab machines are network namespaces`, { hint: "run it as root (sudo ployzctl …)" });
  }
}
