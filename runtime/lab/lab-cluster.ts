import { DaemonStartError, InvalidArgumentError } from "../../model/errors.ts";
import { labRegionOf, type LabRegion } from "../../model/lab-regions.ts";
import { createLab, openLab, type Lab, type LabMachine } from "./lab.ts";
import { readLabClusterState, writeLabClusterState, type LabClusterState } from "./lab-cluster-state.ts";
import { LAB_WIREGUARD_PORT, labHome, type LabHome } from "./lab-home.ts";
import { readLabState } from "./lab-state.ts";

export interface LabClusterOptions {
  machines: number;
  /** Regions in turn (machine n gets the ((n-1) mod R)th), each role set through the region API. */
  regions?: readonly LabRegion[];
  /** Machine n is `<prefix>-<n>` (default `m`: m-1, m-2…). */
  prefix?: string;
  /** As createLab's: null keeps the lab after this process exits (`ployzctl dev`). */
  owner?: null;
  root?: string;
  /** Hears the lab's directory as soon as the lab exists (before any machine starts). */
  made?: (labDir: string) => void;
  /** How long every machine may take to see every other (default 120 s). */
  readyTimeoutMs?: number;
}

/** One machine of a lab cluster: its lab machine (namespace, dockerd) and its ployzd home. */
export interface LabClusterMachine {
  index: number;
  /** Its machine id in the cluster. */
  name: string;
  region: string;
  lab: LabMachine;
  home: LabHome;
}

/** N lab machines running real ployzd, joined into one cluster through invites. */
export interface LabCluster extends AsyncDisposable {
  lab: Lab;
  regions: readonly LabRegion[];
  machines: LabClusterMachine[];
  /** The machine named `name`; an error naming the lab's machines when there is none. */
  machine(name: string): LabClusterMachine;
  /** Makes one more lab machine and joins it (invite on the first machine, `ployzd join`, `ployzd run`). */
  addMachine(region?: string): Promise<LabClusterMachine>;
  /** Cuts / restores the machine's underlay link. */
  partition(name: string): Promise<void>;
  heal(name: string): Promise<void>;
  /** Waits until every machine that is not partitioned lists every other as reachable (`machine ls`). */
  waitUntilMeshed(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Starts a lab cluster: a lab of N machines, machine 1 founding the cluster (`ployzd run
 * --endpoint …`), region roles set through the region API, then each other machine joining as a
 * real machine would; resolves once every machine sees every other. A cluster that fails to come
 * up is destroyed, and the error names the machine at fault.
 */
export async function startLabCluster(options: LabClusterOptions): Promise<LabCluster> {
  const lab = await createLab({ machines: options.machines, ...(options.root ? { root: options.root } : {}), ...(options.owner === null ? { owner: null } : {}) });
  const state: LabClusterState = { prefix: options.prefix ?? "m", regions: [...(options.regions ?? [])], machines: [] };
  const cluster = clusterOf(lab, state);
  try {
    writeLabClusterState(lab.dir, state);
    options.made?.(lab.dir);
    const first = register(lab, state, lab.machine(1), labRegionOf(1, state.regions));
    cluster.machines.push(first);
    await first.home.start(["--machine-id", first.name, "--region", first.region, ...meshArgs(first.lab)]);
    for (const region of state.regions) {
      if (!region.role) continue;
      await expectOk(first, await first.home.cli("region", "set", region.name, region.role), `region set ${region.name} ${region.role}`);
    }
    for (const machine of lab.machines.slice(1)) {
      cluster.machines.push(await joinMachine(cluster, register(lab, state, machine, labRegionOf(machine.index, state.regions))));
    }
    await cluster.waitUntilMeshed(options.readyTimeoutMs);
  } catch (error) {
    await lab.destroy().catch((cleanup: unknown) => {
      throw new AggregateError([error, cleanup], `the lab cluster failed to start and was not wholly removed: ${String(cleanup)}`);
    });
    throw error;
  }
  return cluster;
}

/** The lab cluster in lab directory `dir` (made by another process, e.g. an earlier `ployzctl dev up`). */
export function openLabCluster(dir: string): LabCluster {
  const lab = openLab(dir);
  const state = readLabClusterState(dir);
  if (!state) throw new InvalidArgumentError(`lab ${lab.id} (${dir}) runs no cluster (no lab-cluster.json)`);
  const cluster = clusterOf(lab, state);
  for (const m of state.machines) cluster.machines.push(clusterMachine(lab.machine(m.index), m.name, m.region));
  return cluster;
}

function clusterOf(lab: Lab, state: LabClusterState): LabCluster {
  const machines: LabClusterMachine[] = [];
  const machine = (name: string) => {
    const found = machines.find((m) => m.name === name);
    if (!found) throw new InvalidArgumentError(`no lab machine ${name}: the lab has ${machines.map((m) => m.name).join(", ") || "no machines"}`);
    return found;
  };
  const cluster: LabCluster = {
    lab,
    regions: state.regions,
    machines,
    machine,
    async addMachine(region) {
      const added = await lab.addMachine();
      const joined = await joinMachine(cluster, register(lab, state, added, region ?? labRegionOf(added.index, state.regions)));
      machines.push(joined);
      await cluster.waitUntilMeshed();
      return joined;
    },
    partition: (name) => lab.partition(machine(name).index),
    heal: (name) => lab.heal(machine(name).index),
    waitUntilMeshed: (timeoutMs = 120_000) => waitUntilMeshed(lab, machines, timeoutMs),
    destroy: () => lab.destroy(),
    [Symbol.asyncDispose]: () => lab.destroy(),
  };
  return cluster;
}

function clusterMachine(machine: LabMachine, name: string, region: string): LabClusterMachine {
  return { index: machine.index, name, region, lab: machine, home: labHome({ dir: machine.dir, namespace: machine.namespace, name }) };
}

/** Records the machine in lab-cluster.json (before it starts, so every later command knows it). */
function register(lab: Lab, state: LabClusterState, machine: LabMachine, region: string): LabClusterMachine {
  const name = `${state.prefix}-${machine.index}`;
  state.machines.push({ index: machine.index, name, region });
  writeLabClusterState(lab.dir, state);
  return clusterMachine(machine, name, region);
}

/** The flags that put a lab machine on the mesh: its endpoint on the underlay, its own WireGuard name, its subnet. */
function meshArgs(machine: LabMachine): string[] {
  return ["--endpoint", machine.endpoint(LAB_WIREGUARD_PORT), "--wireguard-interface", machine.wireguard, "--subnet", machine.subnet];
}

/** The invite flow of a real machine: `machine invite` on the first machine, `ployzd join TOKEN`, `ployzd run`. */
async function joinMachine(cluster: LabCluster, joiner: LabClusterMachine): Promise<LabClusterMachine> {
  const inviter = cluster.machines[0];
  if (!inviter) throw new InvalidArgumentError("a lab cluster needs its first machine to invite others");
  const invite = await expectOk(inviter, await inviter.home.cli("machine", "invite", "--region", joiner.region, "--json"), `machine invite for ${joiner.name}`);
  const { token } = JSON.parse(invite) as { token: string };
  await expectOk(joiner, await joiner.home.ployzd("join", token, "--data-dir", joiner.home.dataDir, "--machine-id", joiner.name, ...meshArgs(joiner.lab)), "ployzd join");
  await joiner.home.start([]);
  return joiner;
}

async function expectOk(machine: LabClusterMachine, result: { code: number; stdout: string; stderr: string }, what: string): Promise<string> {
  if (result.code !== 0) throw new DaemonStartError(`lab machine ${machine.name}: ${what} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`, { hint: `see ${machine.home.dataDir}/logs/ployzd.log` });
  return result.stdout;
}

/** What one machine's `machine ls` says is wrong, by the machine to blame; empty when it sees every other. */
async function problemsSeenBy(observer: LabClusterMachine, expected: readonly string[]): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  const ls = await observer.home.cli("machine", "ls", "--json");
  if (ls.code !== 0) {
    problems.set(observer.name, `${observer.name} does not answer machine ls: ${ls.stderr.trim() || ls.stdout.trim()}`);
    return problems;
  }
  const rows = (JSON.parse(ls.stdout) as { machines: Array<{ id: string; reach: string; error?: string }> }).machines;
  for (const name of expected) {
    const row = rows.find((r) => r.id === name);
    if (!row) problems.set(name, `${observer.name} does not list ${name}`);
    else if (row.reach !== "reachable") problems.set(name, `${observer.name} sees ${name} ${row.reach}${row.error ? ` (${row.error})` : ""}`);
  }
  return problems;
}

async function waitUntilMeshed(lab: Lab, machines: readonly LabClusterMachine[], timeoutMs: number): Promise<void> {
  const partitioned = new Set(readLabState(lab.dir)?.partitioned ?? []);
  const up = machines.filter((m) => !partitioned.has(m.index));
  const names = up.map((m) => m.name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems = new Map<string, string[]>();
    for (const seen of await Promise.all(up.map((m) => problemsSeenBy(m, names)))) {
      for (const [name, problem] of seen) problems.set(name, [...(problems.get(name) ?? []), problem]);
    }
    if (problems.size === 0) return;
    if (Date.now() > deadline) {
      const blamed = [...problems.keys()];
      throw new DaemonStartError(
        `lab machine${blamed.length > 1 ? "s" : ""} ${blamed.join(", ")} did not come up within ${Math.round(timeoutMs / 1000)} s: ${[...problems.values()].flat().join("; ")}`,
        { hint: `see ${blamed.map((name) => `${machines.find((m) => m.name === name)?.home.dataDir}/logs/ployzd.log`).join(", ")}` },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
