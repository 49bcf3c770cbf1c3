/**
 * What `ployz top` and the inspector cost.
 *
 *   npx tsx bench/top.ts [--seconds 60] [--settle-seconds 5] [--runs 1] [--events 200000]
 *
 * 1. `ployz top` in a real terminal (tmux, 120×40), first watching one idle machine (a real dev
 *    ployzd; target ≤ 3 % of a core), then three: the real one and two fake machines (members in
 *    the store). The 3-machine lab does not exist yet: this is
 *    the stand-in. The same `top` is measured for `--seconds` twice: an idle lab (the fakes send
 *    the inspector's heartbeat, an unchanged snapshot every 2 s) and a busy one (snapshots that
 *    change on every publish at the inspector's maximum rate, 4/s, and 48 events/s each — the
 *    busiest a node is allowed to be). CPU and RSS of `top` and of its ployzd, and the bytes `top`
 *    wrote to the terminal.
 * 2. ployzd idle, with the inspector and with `--no-inspector`, `--runs` times each, interleaved.
 * 3. The inspector's cost per processed XState event, in-process: an actor receiving `--events`
 *    events with the inspection callback that feeds the actor table, and without.
 *
 * Human-readable lines, then one `BENCH {…}` line with every number.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/transport-node";
import { assign, createActor, setup, type InspectionEvent } from "xstate";
import { ActorTable, actorSnapshotMessageSchema, type ActorSnapshotMessage } from "../model/actor-table.ts";
import type { ActorEventsMessage } from "../model/actor-events.ts";
import type { MachineRecord } from "../model/machine.ts";
import { subjects } from "../model/subjects.ts";
import { toInspectionRecord } from "../runtime/inspection.ts";
import { readIdentity } from "../runtime/keys.ts";
import { inboxPrefix } from "../model/roles.ts";
import { localOperatorName } from "../model/credentials.ts";
import { createUser } from "@nats-io/nkeys";
import { connectNats } from "../runtime/nats/connect.ts";
import { dataPaths } from "../runtime/paths.ts";
import { openStore } from "../runtime/store.ts";
import { readPid } from "../test/harness/daemon.ts";
import { withCleanup, type Cleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { startDevCluster } from "./support/dev-cluster.ts";
import { startPloyzd } from "./support/ployzd-process.ts";
import { measureIdle, type IdleUsage } from "./support/proc-usage.ts";
import { median, mib, round } from "./support/stats.ts";

export const TOP_DEFAULTS = { seconds: 60, settleSeconds: 5, runs: 1, events: 200_000 };
/** The target for `ployz top` watching one idle machine, in percent of one core. */
const TOP_IDLE_TARGET_CPU_PERCENT = 3;
export type TopBenchOptions = typeof TOP_DEFAULTS;

const CLI = fileURLToPath(new URL("../bin/ployzctl.js", import.meta.url));
const FAKE_MACHINES = ["fake-1", "fake-2"];
/** How the fake machines publish. */
const LOADS = {
  idle: { publishEveryMs: 2_000, eventsPerBatch: 0, changing: false },
  busy: { publishEveryMs: 250, eventsPerBatch: 12, changing: true },
} as const;
type LoadName = keyof typeof LOADS;

interface WatchingUsage {
  snapshotsPerSecond: number;
  eventsPerSecond: number;
  top: IdleUsage;
  ployzd: IdleUsage;
  terminalBytesPerSecond: number;
}

export interface TopBenchResult {
  watching: { seconds: number; machines: number; oneMachine: WatchingUsage & { target: { topCpuPercent: number; met: boolean } } } & Record<LoadName, WatchingUsage>;
  inspector: { seconds: number; runs: number; with: IdleUsage[]; without: IdleUsage[]; medianCpuPercent: { with: number; without: number; difference: number } };
  perEvent: { events: number; withoutNs: number; xstateInspectionOnlyNs: number; withInspectorNs: number; overheadNs: number };
}

export async function benchTop(options: TopBenchOptions, print: (line: string) => void = console.log): Promise<TopBenchResult> {
  return await withCleanup(async (cleanup) => {
    const watching = await benchWatching(cleanup, options, print);
    const inspector = await benchInspectorIdle(cleanup, options, print);
    const perEvent = benchPerEvent(options.events, print);
    return { watching, inspector, perEvent };
  });
}

/** The same `ployz top` under tmux, watching one real and two fake machines: an idle lab, then a busy one. */
export async function benchWatching(cleanup: Cleanup, options: TopBenchOptions, print: (line: string) => void): Promise<TopBenchResult["watching"]> {
  if (spawnSync("tmux", ["-V"]).status !== 0) throw new Error("tmux is not installed (scripts/setup.sh installs it)");
  const cluster = await startDevCluster(cleanup, "bench-top");
  const nc = (await cleanup.own("close the publishers' connection", connectNats({ servers: cluster.context.servers, seed: readIdentity(dataPaths(cluster.dataDir).machineSeed).seed, name: "bench-top", inboxPrefix: inboxPrefix({ role: "machine", name: cluster.machineId }), reconnect: false }), (c) => c.close())).value;
  const store = await openStore(nc);
  // Reading the machine's snapshots is an operator's (or observer's) right, not a machine's.
  const operator = (await cleanup.own("close the operator's connection", connectNats({ servers: cluster.context.servers, seed: readIdentity(dataPaths(cluster.dataDir).operatorSeed).seed, name: "bench-top operator", inboxPrefix: inboxPrefix({ role: "operator", name: localOperatorName(cluster.machineId) }), reconnect: false }), (c) => c.close())).value;
  const template = await nextSnapshot(operator, cluster.machineId);

  const root = mkdtempSync(join(tmpdir(), "ployz-bench-top-"));
  cleanup.add(`remove ${root}`, () => rmSync(root, { recursive: true, force: true }));
  const output = join(root, "terminal.out");
  writeFileSync(output, "");
  const socket = `ployz-bench-top-${randomBytes(4).toString("hex")}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const env: NodeJS.ProcessEnv = { ...cluster.env, TERM: "xterm-256color" };
  delete env.CI;
  delete env.TMUX;
  execFileSync("tmux", ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", "120", "-y", "40", `exec ${process.execPath} ${CLI} top`], { env });
  cleanup.add("stop tmux", () => void spawnSync("tmux", ["-L", socket, "kill-server"], { stdio: "ignore" }));
  tmux("pipe-pane", "-o", "-t", "top", `cat >> ${output}`);
  const waitFor = async (text: string) => {
    const deadline = Date.now() + 30_000;
    while (!tmux("capture-pane", "-p", "-t", "top").includes(text)) {
      if (Date.now() > deadline) throw new Error(`top did not show "${text}" within 30 s:\n${tmux("capture-pane", "-p", "-t", "top")}`);
      await sleep(200);
    }
  };
  await waitFor("machines 1/1 reachable");
  const topPid = Number(tmux("display-message", "-p", "-t", "top", "#{pane_pid}").trim());
  const ployzdPid = readPid(dataPaths(cluster.dataDir).daemonPid)!;

  const measureWindow = async (): Promise<Omit<WatchingUsage, "snapshotsPerSecond" | "eventsPerSecond">> => {
    await sleep(options.settleSeconds * 1_000);
    const bytesBefore = statSync(output).size;
    const started = performance.now();
    const usage = await measureIdle({ top: topPid, ployzd: ployzdPid }, options.seconds);
    const bytes = statSync(output).size - bytesBefore;
    const seconds = (performance.now() - started) / 1_000;
    line(print, "ployz top", usage.top);
    line(print, "ployzd (serving it)", usage.ployzd);
    print(`  terminal output: ${(bytes / seconds / 1024).toFixed(1)} KiB/s`);
    return { top: roundUsage(usage.top), ployzd: roundUsage(usage.ployzd), terminalBytesPerSecond: Math.round(bytes / seconds) };
  };

  // One machine, idle: the dev cluster as `npm start` leaves it, minus the demo.
  print(`ployz top, one idle machine (a real dev ployzd, its inspector's heartbeat every 2 s); 120×40 tmux pane`);
  print(`  ${options.settleSeconds} s settle, then ${options.seconds} s measured`);
  const oneUsage = await measureWindow();
  const oneMachine: WatchingUsage & { target: { topCpuPercent: number; met: boolean } } = {
    snapshotsPerSecond: 0.5,
    eventsPerSecond: 0,
    ...oneUsage,
    target: { topCpuPercent: TOP_IDLE_TARGET_CPU_PERCENT, met: oneUsage.top.cpuPercent <= TOP_IDLE_TARGET_CPU_PERCENT },
  };
  print(`  target: top ≤ ${TOP_IDLE_TARGET_CPU_PERCENT} % of a core on one idle machine: ${oneMachine.target.met ? "met" : "MISSED"}`);

  // Each fake machine is a real member with its own NATS identity: a machine may publish only its own subjects.
  const now = new Date().toISOString();
  const fakes = new Map<string, NatsConnection>();
  cleanup.add("remove the fake members", async () => {
    for (const id of FAKE_MACHINES) await store.kv.machines.delete(id);
  });
  for (const id of FAKE_MACHINES) {
    const user = createUser();
    const record: MachineRecord = { id, name: id, region: "local", storage: false, state: "active", natsUser: user.getPublicKey(), joinedAt: now, updatedAt: now };
    await store.kv.machines.put(id, JSON.stringify(record));
    fakes.set(id, await connectWhenAdmitted(cleanup, cluster.context.servers, user.getSeed(), id));
  }
  let load: LoadName = "idle";
  let seq = 0;
  let publishedAt = 0;
  const publisher = setInterval(() => {
    const { publishEveryMs, eventsPerBatch, changing } = LOADS[load];
    if (Date.now() - publishedAt < publishEveryMs - 5) return;
    publishedAt = Date.now();
    seq++;
    for (const [machine, connection] of fakes) publishFake(connection, template, machine, seq, changing, eventsPerBatch);
  }, 250);
  cleanup.add("stop the fake publishers", () => clearInterval(publisher));
  await waitFor("machines 3/3 reachable");

  const measure = async (name: LoadName): Promise<WatchingUsage> => {
    load = name;
    const { publishEveryMs, eventsPerBatch, changing } = LOADS[name];
    const snapshotsPerSecond = 1_000 / publishEveryMs;
    const eventsPerSecond = eventsPerBatch * snapshotsPerSecond;
    print(`ployz top, ${name} lab: 1 real ployzd + ${FAKE_MACHINES.length} fake machines at ${snapshotsPerSecond} snapshots/s${changing ? " (changing every time)" : " (unchanged)"} and ${eventsPerSecond} events/s each; 120×40 tmux pane`);
    print(`  ${options.settleSeconds} s settle, then ${options.seconds} s measured`);
    return { snapshotsPerSecond, eventsPerSecond, ...(await measureWindow()) };
  };
  const idle = await measure("idle");
  const busy = await measure("busy");
  tmux("send-keys", "-t", "top", "q");
  return { seconds: options.seconds, machines: 1 + FAKE_MACHINES.length, oneMachine, idle, busy };
}

/** A fake machine's snapshot: the real one's actors, a little different every time (worst case for `top`). */
/** Connects as a fake machine once ployzd has admitted its key (the access actor reloads nats-server). */
async function connectWhenAdmitted(cleanup: Cleanup, servers: string[], seed: Uint8Array, id: string): Promise<NatsConnection> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return (await cleanup.own(`close ${id}'s connection`, connectNats({ servers, seed, name: `bench-top ${id}`, inboxPrefix: inboxPrefix({ role: "machine", name: id }), reconnect: false }), (c) => c.close())).value;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`fake machine ${id} was not admitted by nats-server within 15 s`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function publishFake(nc: NatsConnection, template: ActorSnapshotMessage, machine: string, seq: number, changing: boolean, eventsPerBatch: number): void {
  const at = Date.now();
  const actors = changing
    ? template.actors.map((a, i) => ({
        ...a,
        lastEvent: `TICK-${seq}`,
        ...(i === 2 ? { state: seq % 8 < 4 ? "running" : "backoff", since: at - (seq % 4) * 250, context: { ...a.context, restarts: Math.floor(seq / 8) } } : {}),
      }))
    : template.actors;
  const snapshot: ActorSnapshotMessage = { type: "actors", machine, at: new Date(at).toISOString(), seq, actors };
  nc.publish(subjects.actors(machine), JSON.stringify(snapshot));
  if (eventsPerBatch === 0) return;
  const events: ActorEventsMessage = {
    type: "events",
    machine,
    at: snapshot.at,
    seq,
    events: Array.from({ length: eventsPerBatch }, (_, i) => ({ at, sessionId: actors[i % actors.length]!.sessionId, path: actors[i % actors.length]!.path, event: `TICK-${seq}`, state: "running" })),
    dropped: 0,
  };
  nc.publish(subjects.events(machine), JSON.stringify(events));
}

async function nextSnapshot(nc: NatsConnection, machineId: string): Promise<ActorSnapshotMessage> {
  const sub = nc.subscribe(subjects.actors(machineId), { max: 1, timeout: 10_000 });
  for await (const msg of sub) return actorSnapshotMessageSchema.parse(msg.json());
  throw new Error(`no snapshot from ${machineId}`);
}

/** ployzd idle with and without its inspector, interleaved; each run checks which it was. */
async function benchInspectorIdle(cleanup: Cleanup, options: TopBenchOptions, print: (line: string) => void): Promise<TopBenchResult["inspector"]> {
  const root = mkdtempSync(join(tmpdir(), "ployz-bench-inspector-"));
  cleanup.add(`remove ${root}`, () => rmSync(root, { recursive: true, force: true }));
  const env = { ...process.env, XDG_CONFIG_HOME: join(root, "config") };
  print(`ployzd idle with and without the inspector: ${options.runs} run(s) each, ${options.settleSeconds} s settle, ${options.seconds} s measured`);
  const runs: Record<"with" | "without", IdleUsage[]> = { with: [], without: [] };
  for (let run = 1; run <= options.runs; run++) {
    for (const variant of ["with", "without"] as const) {
      const machineId = `bench-insp-${variant}`;
      const { value: ployzd, release } = await cleanup.own(
        `stop ployzd ${machineId}`,
        startPloyzd({ dataDir: join(root, variant), machineId, env, ...(variant === "without" ? { extraArgs: ["--no-inspector"] } : {}) }),
        (p) => p.stop(),
      );
      const published = await countSnapshots(ployzd.info.servers, ployzd.info.seedFile, machineId, 2_500);
      if ((variant === "with") !== published > 0) throw new Error(`ployzd ${variant} the inspector published ${published} snapshots in 2.5 s`);
      await sleep(options.settleSeconds * 1_000);
      const usage = (await measureIdle({ ployzd: ployzd.pid }, options.seconds)).ployzd;
      runs[variant].push(roundUsage(usage));
      line(print, `run ${run} ${variant} inspector`, usage);
      await release();
    }
  }
  const cpu = (list: IdleUsage[]) => round(median(list.map((u) => u.cpuPercent)));
  const medianCpuPercent = { with: cpu(runs.with), without: cpu(runs.without), difference: round(cpu(runs.with) - cpu(runs.without)) };
  print(`  median CPU: ${medianCpuPercent.with} % with, ${medianCpuPercent.without} % without: the inspector costs ${medianCpuPercent.difference} % of a core idle`);
  return { seconds: options.seconds, runs: options.runs, with: runs.with, without: runs.without, medianCpuPercent };
}

async function countSnapshots(servers: string[], seedFile: string, machineId: string, ms: number): Promise<number> {
  const nc = await connectNats({ servers, seed: readIdentity(seedFile).seed, name: "bench-count", inboxPrefix: inboxPrefix({ role: "operator", name: localOperatorName(machineId) }), reconnect: false });
  try {
    let count = 0;
    const sub = nc.subscribe(subjects.actors(machineId), { callback: () => void count++ });
    await sleep(ms);
    sub.unsubscribe();
    return count;
  } finally {
    await nc.close();
  }
}

/** Nanoseconds per processed event of an actor, with the inspection that feeds the table and without. */
export function benchPerEvent(events: number, print: (line: string) => void): TopBenchResult["perEvent"] {
  const machine = setup({ types: { context: {} as { n: number; name: string }, events: {} as { type: "PING" } } }).createMachine({
    id: "bench",
    context: { n: 0, name: "bench" },
    initial: "running",
    states: { running: { on: { PING: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } },
  });
  type Variant = "without" | "xstateOnly" | "withInspector";
  const time = (variant: Variant) => {
    const table = new ActorTable();
    const record = (e: InspectionEvent) => {
      const rec = toInspectionRecord(e, Date.now());
      if (rec) table.apply(rec);
    };
    const options = variant === "withInspector" ? { inspect: record } : variant === "xstateOnly" ? { inspect: () => {} } : {};
    const actor = createActor(machine, options);
    actor.start();
    const started = process.hrtime.bigint();
    for (let i = 0; i < events; i++) {
      actor.send({ type: "PING" });
      if (variant === "withInspector" && i % 1_000 === 0) table.events.take(); // what the publisher does every 250 ms
    }
    const ns = Number(process.hrtime.bigint() - started) / events;
    actor.stop();
    return ns;
  };
  const variants: Variant[] = ["without", "xstateOnly", "withInspector"];
  for (const v of variants) time(v); // warm-up
  const samples: Record<Variant, number[]> = { without: [], xstateOnly: [], withInspector: [] };
  for (let i = 0; i < 5; i++) for (const v of variants) samples[v].push(time(v));
  const m = (v: Variant) => round(median(samples[v]), 0);
  const result = { events, withoutNs: m("without"), xstateInspectionOnlyNs: m("xstateOnly"), withInspectorNs: m("withInspector"), overheadNs: round(m("withInspector") - m("without"), 0) };
  print(
    `per processed event (${events} events, median of 5): ${result.withoutNs} ns without inspection, ${result.xstateInspectionOnlyNs} ns with an empty inspect callback (XState's part), ${result.withInspectorNs} ns with the inspector's table: +${result.overheadNs} ns in all`,
  );
  return result;
}

function line(print: (line: string) => void, label: string, u: IdleUsage): void {
  print(`  ${label.padEnd(24)} cpu ${u.cpuPercent.toFixed(2)} %  rss ${mib(u.rssEndBytes)} (start ${mib(u.rssStartBytes)}, max ${mib(u.rssMaxBytes)})`);
}

function roundUsage(u: IdleUsage): IdleUsage {
  return { ...u, cpuPercent: round(u.cpuPercent), cpuSeconds: round(u.cpuSeconds) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchTop(numberOptions(process.argv.slice(2), TOP_DEFAULTS));
    printBench({ top: result });
  });
}
