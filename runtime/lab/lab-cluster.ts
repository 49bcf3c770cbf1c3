import { DaemonStartError, InvalidArgumentError } from "../../model/errors.ts";
import { labRegionOf, type LabRegion } from "../../model/lab-regions.ts";
import type { MachineLsRow } from "../../model/machine-ls.ts";
import { createLab, openLab, type Lab, type LabMachine } from "./lab.ts";
import { readLabClusterState, writeLabClusterState, type LabClusterState } from "./lab-cluster-state.ts";
import { LAB_WIREGUARD_PORT, labHome, type LabHome } from "./lab-home.ts";
import { readLabState } from "./lab-state.ts";

export interface LabClusterOptions {
  machines: number;
  /** Lab machines whose dockerd keeps its default bridge (no `--bip`): ployzd makes the workload bridge there. */
  withoutBip?: readonly number[];
  /**
   * Regions in turn (machine n gets the ((n-1) mod R)th), each role set through the region API.
   * A name may repeat to weigh it: `eu, eu, us` puts machines 1 and 2 in eu, 3 in us.
   */
  regions?: readonly LabRegion[];
  /** Machine n is `<prefix><separator><n>` (default `m` and `-`: m-1, m-2…; separator `""`: m1, m2…). */
  prefix?: string;
  separator?: string;
  /** More `ployzd run` options for every machine (e.g. `--dns-port 53`), also one added later. */
  run?: readonly string[];
  /** As createLab's: null keeps the lab after this process exits (`ployzctl dev`). */
  owner?: null;
  root?: string;
  /** Hears the lab's directory as soon as the lab exists (before any machine starts). */
  made?: (labDir: string) => void;
  /** Hears where the time of each machine's start went, as each one is up. */
  machineUp?: (machine: LabClusterMachine, phasesMs: LabMachinePhases) => void;
  /** How long every machine may take to see each newly started one (default 120 s). */
  readyTimeoutMs?: number;
}

/**
 * Where the time of bringing one machine up went (ms). The founder: `ployzd run` to ready. A
 * joiner: `machine invite`, `ployzd join`, `ployzd run` to ready, then until every machine sees it
 * (and it them) with WireGuard handshakes.
 */
export type LabMachinePhases = { type: "founded"; start: number } | { type: "joined"; invite: number; join: number; start: number; meshed: number };

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
  /**
   * Waits until every machine that is not partitioned lists every other as reachable (`machine
   * ls`) and each of them has a WireGuard handshake with every other.
   */
  waitUntilMeshed(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Starts a lab cluster: a lab of N machines, machine 1 founding the cluster (`ployzd run
 * --endpoint …`), region roles set through the region API, then each other machine joining as a
 * real machine would, in turn, each seen by every machine before the next joins. A cluster that
 * fails to come up is destroyed, and the error names the machine at fault and carries the last
 * warnings of every ployzd (their logs go with the lab).
 */
export async function startLabCluster(options: LabClusterOptions): Promise<LabCluster> {
  const lab = await createLab({
    machines: options.machines,
    ...(options.root ? { root: options.root } : {}),
    ...(options.owner === null ? { owner: null } : {}),
    ...(options.withoutBip ? { withoutBip: options.withoutBip } : {}),
  });
  const state: LabClusterState = {
    prefix: options.prefix ?? "m",
    ...(options.separator === undefined ? {} : { separator: options.separator }),
    ...(options.run?.length ? { run: [...options.run] } : {}),
    regions: [...(options.regions ?? [])],
    machines: [],
  };
  const cluster = clusterOf(lab, state, options);
  try {
    writeLabClusterState(lab.dir, state);
    options.made?.(lab.dir);
    const first = register(lab, state, lab.machine(1), labRegionOf(1, state.regions));
    cluster.machines.push(first);
    const started = performance.now();
    await first.home.start(["--machine-id", first.name, "--region", first.region, ...meshArgs(first.lab), ...(state.run ?? [])]);
    options.machineUp?.(first, { type: "founded", start: performance.now() - started });
    for (const region of state.regions) {
      if (!region.role) continue;
      await expectOk(first, await first.home.cli("region", "set", region.name, region.role), `region set ${region.name} ${region.role}`);
    }
    for (const machine of lab.machines.slice(1)) await joinMachine(cluster, state, machine, labRegionOf(machine.index, state.regions), options);
  } catch (error) {
    const warnings = cluster.machines.map((m) => `${m.name}: ${m.home.warnings()}`).join("\n");
    await lab.destroy().catch((cleanup: unknown) => {
      throw new AggregateError([error, cleanup], `the lab cluster failed to start and was not wholly removed: ${String(cleanup)}`);
    });
    throw new DaemonStartError(`${error instanceof Error ? error.message : String(error)}\nployzd's last warnings (its logs went with the lab):\n${warnings || "(no machine started)"}`, { cause: error });
  }
  return cluster;
}

/** The lab cluster in lab directory `dir` (made by another process, e.g. an earlier `ployzctl dev up`). */
export function openLabCluster(dir: string): LabCluster {
  const lab = openLab(dir);
  const state = readLabClusterState(dir);
  if (!state) throw new InvalidArgumentError(`lab ${lab.id} (${dir}) runs no cluster (no lab-cluster.json)`);
  const cluster = clusterOf(lab, state, {});
  for (const m of state.machines) cluster.machines.push(clusterMachine(lab.machine(m.index), m.name, m.region));
  return cluster;
}

type JoinOptions = Pick<LabClusterOptions, "machineUp" | "readyTimeoutMs">;

function clusterOf(lab: Lab, state: LabClusterState, options: JoinOptions): LabCluster {
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
      return await joinMachine(cluster, state, added, region ?? labRegionOf(added.index, state.regions), options);
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
  const name = `${state.prefix}${state.separator ?? "-"}${machine.index}`;
  state.machines.push({ index: machine.index, name, region });
  writeLabClusterState(lab.dir, state);
  return clusterMachine(machine, name, region);
}

/** The flags that put a lab machine on the mesh: its endpoint on the underlay, its own WireGuard name, its subnet. */
function meshArgs(machine: LabMachine): string[] {
  return ["--endpoint", machine.endpoint(LAB_WIREGUARD_PORT), "--wireguard-interface", machine.wireguard, "--subnet", machine.subnet];
}

/**
 * The invite flow of a real machine: `machine invite` on the first machine, `ployzd join TOKEN`,
 * `ployzd run`; resolves once every machine sees the joiner (and it them).
 */
async function joinMachine(cluster: LabCluster, state: LabClusterState, machine: LabMachine, region: string, options: JoinOptions): Promise<LabClusterMachine> {
  const inviter = cluster.machines[0];
  if (!inviter) throw new InvalidArgumentError("a lab cluster needs its first machine to invite others");
  const joiner = register(cluster.lab, state, machine, region);
  cluster.machines.push(joiner);
  let last = performance.now();
  const lap = () => {
    const now = performance.now();
    const elapsed = now - last;
    last = now;
    return elapsed;
  };
  const invite = await expectOk(inviter, await inviter.home.cli("machine", "invite", "--region", joiner.region, "--json"), `machine invite for ${joiner.name}`);
  const { token } = JSON.parse(invite) as { token: string };
  const invited = lap();
  await expectOk(joiner, await joiner.home.ployzd("join", token, "--data-dir", joiner.home.dataDir, "--machine-id", joiner.name, ...meshArgs(joiner.lab)), "ployzd join");
  const joined = lap();
  await joiner.home.start([...(state.run ?? [])]);
  const started = lap();
  await cluster.waitUntilMeshed(options.readyTimeoutMs);
  options.machineUp?.(joiner, { type: "joined", invite: invited, join: joined, start: started, meshed: lap() });
  return joiner;
}

async function expectOk(machine: LabClusterMachine, result: { code: number; stdout: string; stderr: string }, what: string): Promise<string> {
  if (result.code !== 0) throw new DaemonStartError(`lab machine ${machine.name}: ${what} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`, { hint: `see ${machine.home.dataDir}/logs/ployzd.log` });
  return result.stdout;
}

/**
 * What one machine's `machine ls` says is wrong, by the machine to blame: each expected machine
 * listed and reachable, and the observer's own WireGuard handshake with each; empty when all is well.
 */
async function problemsSeenBy(observer: LabClusterMachine, expected: readonly string[]): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  const ls = await observer.home.cli("machine", "ls", "--json");
  if (ls.code !== 0) {
    problems.set(observer.name, `${observer.name} does not answer machine ls: ${ls.stderr.trim() || ls.stdout.trim()}`);
    return problems;
  }
  const rows = (JSON.parse(ls.stdout) as { machines: Array<Pick<MachineLsRow, "id" | "reach" | "error" | "peers">> }).machines;
  const own = rows.find((r) => r.id === observer.name);
  for (const name of expected) {
    const row = rows.find((r) => r.id === name);
    const peer = own?.peers.find((p) => p.machine === name);
    if (!row) problems.set(name, `${observer.name} does not list ${name}`);
    else if (row.reach !== "reachable") problems.set(name, `${observer.name} sees ${name} ${row.reach}${row.error ? ` (${row.error})` : ""}`);
    else if (name !== observer.name && (peer?.state !== "up" || peer.handshakeAgeMs === null)) {
      problems.set(name, `${observer.name} has no WireGuard handshake with ${name} (${peer ? `peer ${peer.state}` : "no peer"})`);
    }
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
