import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { localCommands, type Commands } from "../../actors/host/commands.ts";
import { InvalidArgumentError, NotFoundError } from "../../model/errors.ts";
import { createDocker } from "../docker.ts";
import { copyImages, labDockerPaths, startLabDockerd } from "./lab-dockerd.ts";
import { LAB_UNDERLAY, LAB_UNDERLAY_IFACE, labNames, labRoot, newLabId } from "./lab-names.ts";
import { registerLab } from "./lab-registry.ts";
import { labProcess } from "./lab-processes.ts";
import { readLabState, writeLabState, type LabMachineState, type LabState } from "./lab-state.ts";
import { destroyLab, labCommands } from "./lab-teardown.ts";

/** The most machines one lab has (underlay addresses, subnets and names are numbered by machine). */
export const MAX_LAB_MACHINES = 50;

export interface LabOptions {
  machines: number;
  /** Where the lab's directory goes (default `labRoot()`, /tmp/ployz-lab). */
  root?: string;
  /** Start a dockerd in each machine (default true). */
  docker?: boolean;
  /**
   * Machines (by number) whose dockerd starts without `--bip`: docker0 stays on Docker's default
   * 172.17.0.0/16, as on a real machine, and ployzd makes the workload bridge itself.
   */
  withoutBip?: readonly number[];
  /**
   * Who owns the lab: by default this process, so a sweep removes the lab once it is gone (a test
   * that crashed); `null` keeps it until it is destroyed (`ployzctl dev`).
   */
  owner?: null;
}

/** One lab machine: a network namespace on the lab's underlay, with its own dockerd. */
export interface LabMachine extends LabMachineState {
  /** `m1`, `m2`… */
  name: string;
  /** Runs programs inside the machine's namespace. */
  commands: Commands;
  /** A client of the machine's own dockerd (undefined without `docker`). */
  docker: Docker | undefined;
  dockerSocket: string | undefined;
  /** Its WireGuard endpoint on the underlay (`10.213.0.11:51820`). */
  endpoint(port: number): string;
}

export interface Lab extends AsyncDisposable {
  id: string;
  dir: string;
  machines: LabMachine[];
  machine(n: number): LabMachine;
  /** Cuts machine n off the underlay (its veth on the bridge goes down); nothing reaches it, nothing leaves it. */
  partition(n: number): Promise<void>;
  /** Restores machine n's underlay link. */
  heal(n: number): Promise<void>;
  /** Adds one more machine (namespace, underlay link, its dockerd when the lab has them); a half-made one stays recorded for destroy. */
  addMachine(): Promise<LabMachine>;
  /** Copies images from `source` into every lab machine's dockerd (`docker save | docker load`). */
  loadImages(source: Docker, images: readonly string[]): Promise<void>;
  /** Removes everything the lab made (see destroyLab). */
  destroy(): Promise<void>;
}

/**
 * Builds a lab of N machines on this computer: a namespace holding the underlay bridge, and per
 * machine a network namespace plugged into it by a veth (`ul0`, 10.213.0.(10+n)/24) and, unless
 * told otherwise, its own dockerd (`nsenter --net`, bridge on 10.210.n.0/24). Each thing is
 * written to the lab's state file (`<root>/<id>/lab.json`) before it is made, so destroyLab and
 * sweepLabs remove all of it even after a crash; a lab that fails half-way is destroyed at once.
 */
export async function createLab(options: LabOptions): Promise<Lab> {
  if (!Number.isInteger(options.machines) || options.machines < 1 || options.machines > MAX_LAB_MACHINES) {
    throw new InvalidArgumentError(`a lab has 1–${MAX_LAB_MACHINES} machines, not ${options.machines}`);
  }
  const host = localCommands();
  const id = newLabId();
  const dir = join(options.root ?? labRoot(), id);
  const names = labNames(id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const state: LabState = {
    id,
    dir,
    owner: options.owner === null ? null : labProcess(process.pid, "lab owner"),
    underlay: LAB_UNDERLAY,
    underlayNamespace: names.underlayNamespace,
    bridge: names.bridge,
    namespaces: [],
    machines: [],
    processes: [],
    partitioned: [],
  };
  writeLabState(state);
  registerLab(id, dir); // after the state, so a sweep never finds a registered lab without its owner
  const machines: LabMachine[] = [];
  try {
    const u = names.underlayNamespace;
    state.namespaces.push(u);
    writeLabState(state);
    await host.run(["ip", "netns", "add", u]);
    await host.run(["ip", "-n", u, "link", "set", "lo", "up"]);
    await host.run(["ip", "-n", u, "link", "add", names.bridge, "type", "bridge"]);
    await host.run(["ip", "-n", u, "link", "set", names.bridge, "up"]);
    for (let n = 1; n <= options.machines; n++) machines.push(await plugMachine(state, n));
    if (options.docker !== false) await Promise.all(machines.map((machine) => startMachineDockerd(state, machine, !options.withoutBip?.includes(machine.index))));
  } catch (error) {
    await destroyLab(dir).catch((cleanup: unknown) => {
      throw new AggregateError([error, cleanup], `the lab failed to start and was not wholly removed: ${String(cleanup)}`);
    });
    throw error;
  }
  return labOf(state, machines, options.docker !== false);
}

/**
 * The lab whose directory is `dir`, made earlier (by another process: `ployzctl dev`), to
 * partition, heal, grow or destroy it. Its machines' dockerd clients point at their sockets.
 */
export function openLab(dir: string): Lab {
  const state = readLabState(dir);
  if (!state) throw new NotFoundError(`no lab in ${dir} (no lab.json)`, { hint: "make one with `ployzctl dev up --machines N`" });
  const docker = state.processes.some((p) => p.what === "dockerd");
  return labOf(state, state.machines.map((m) => labMachine(m, docker)), docker);
}

/** Adds machine n's namespace on the underlay bridge (recorded first), its veth and address. */
async function plugMachine(state: LabState, n: number): Promise<LabMachine> {
  const host = localCommands();
  const names = labNames(state.id);
  const machine: LabMachineState = {
    index: n,
    namespace: names.namespace(n),
    hostVeth: names.hostVeth(n),
    wireguard: names.wireguard(n),
    underlayIp: names.underlayIp(n),
    subnet: names.subnet(n),
    dir: join(state.dir, `m${n}`),
  };
  state.machines.push(machine);
  state.namespaces.push(machine.namespace);
  writeLabState(state);
  mkdirSync(machine.dir, { recursive: true, mode: 0o700 });
  const u = state.underlayNamespace;
  await host.run(["ip", "netns", "add", machine.namespace]);
  await host.run(["ip", "-n", machine.namespace, "link", "set", "lo", "up"]);
  await host.run(["ip", "-n", u, "link", "add", machine.hostVeth, "type", "veth", "peer", "name", LAB_UNDERLAY_IFACE, "netns", machine.namespace]);
  await host.run(["ip", "-n", u, "link", "set", machine.hostVeth, "master", state.bridge, "up"]);
  await host.run(["ip", "-n", machine.namespace, "addr", "add", `${machine.underlayIp}/24`, "dev", LAB_UNDERLAY_IFACE]);
  await host.run(["ip", "-n", machine.namespace, "link", "set", LAB_UNDERLAY_IFACE, "up"]);
  return labMachine(machine, false);
}

/** Starts the machine's own dockerd, its pid recorded as soon as it runs. */
async function startMachineDockerd(state: LabState, machine: LabMachine, bip = true): Promise<void> {
  const { docker } = await startLabDockerd(machine.commands, machine.dir, bip ? machine.subnet : undefined, (pid) => {
    state.processes.push(labProcess(pid, "dockerd", machine.index));
    writeLabState(state);
  });
  machine.docker = docker;
  machine.dockerSocket = labDockerPaths(machine.dir).socket;
}

function labMachine(machine: LabMachineState, docker: boolean): LabMachine {
  const socket = labDockerPaths(machine.dir).socket;
  return {
    ...machine,
    name: `m${machine.index}`,
    commands: labCommands(machine.namespace, `lab machine m${machine.index}`),
    docker: docker ? createDocker({ DOCKER_HOST: `unix://${socket}` }) : undefined,
    dockerSocket: docker ? socket : undefined,
    endpoint: (port) => `${machine.underlayIp}:${port}`,
  };
}

function labOf(state: LabState, machines: LabMachine[], docker: boolean): Lab {
  const host = localCommands();
  const { id, dir } = state;
  const machineAt = (n: number) => {
    const machine = machines[n - 1];
    if (!machine) throw new InvalidArgumentError(`lab ${id} has no machine ${n} (it has 1–${machines.length})`);
    return machine;
  };
  const setLink = async (n: number, up: boolean) => {
    const machine = machineAt(n);
    await host.run(["ip", "-n", state.underlayNamespace, "link", "set", machine.hostVeth, up ? "up" : "down"]);
    state.partitioned = up ? state.partitioned.filter((p) => p !== n) : [...new Set([...state.partitioned, n])];
    writeLabState(state);
  };
  let destroyed: Promise<void> | undefined;
  const destroy = () => (destroyed ??= destroyLab(dir));
  return {
    id,
    dir,
    machines,
    machine: machineAt,
    partition: (n) => setLink(n, false),
    heal: (n) => setLink(n, true),
    async addMachine() {
      const n = machines.length + 1;
      if (n > MAX_LAB_MACHINES) throw new InvalidArgumentError(`a lab has at most ${MAX_LAB_MACHINES} machines`);
      const machine = await plugMachine(state, n);
      machines.push(machine);
      if (docker) await startMachineDockerd(state, machine);
      return machine;
    },
    async loadImages(source, images) {
      await Promise.all(machines.map((m) => (m.docker && m.docker !== source ? copyImages(source, m.docker, images) : Promise.resolve())));
    },
    destroy,
    [Symbol.asyncDispose]: destroy,
  };
}
