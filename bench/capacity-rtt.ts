/**
 * Round trip of `ployz.m.<id>.observe.capacity` through a running ployzd's participant, against a
 * trivial responder in this process answering the same bytes on the same connection.
 *
 *   npx tsx bench/capacity-rtt.ts [--requests 500] [--warmup 50]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestJson } from "../actors/nats/request.ts";
import { actorsReplySchema, capacitySchema, type Capacity } from "../model/observation.ts";
import { subjects } from "../model/subjects.ts";
import { devDown, devUp } from "../runtime/dev.ts";
import { createDocker } from "../runtime/docker.ts";
import { readIdentity } from "../runtime/keys.ts";
import { inboxPrefix } from "../model/roles.ts";
import { connectNats } from "../runtime/nats/connect.ts";
import { stopOrphanNatsServer } from "../runtime/nats/server.ts";
import { dataPaths } from "../runtime/paths.ts";
import { isAlive } from "../runtime/process.ts";
import { withCleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";

export const RTT_DEFAULTS = { requests: 500, warmup: 50 };
export type RttOptions = typeof RTT_DEFAULTS;

export interface RttResult {
  requests: number;
  warmup: number;
  replyBytes: number;
  containers: Capacity["containers"];
  /** Trivial responder in the benchmark process, same connection, same reply bytes. */
  baselineMs: Summary;
  capacityMs: Summary;
  ratioOfMedians: number;
  /** Where the difference goes: the participant without dockerd, and dockerd alone. */
  breakdown: { observeActorsMs: Summary; dockerListContainersMs: Summary };
}

/** Runs the round-trip benchmark against a ployzd of its own, printing as it goes. */
export async function benchCapacityRtt(options: RttOptions, print: (line: string) => void = console.log): Promise<RttResult> {
  return await withCleanup(async (cleanup) => {
    const root = mkdtempSync(join(tmpdir(), "ployz-bench-rtt-"));
    cleanup.add(`remove ${root}`, () => rmSync(root, { recursive: true, force: true }));
    const dataDir = join(root, "data");
    const env = { ...process.env, XDG_CONFIG_HOME: join(root, "config") };
    const up = (await cleanup.own("stop ployzd", devUp({ dataDir, env, extraArgs: ["--machine-id", "bench-rtt"] }), () => stopDaemon(dataDir))).value;
    const machineId = up.info.machineId;

    // The machine's own identity: it may ask machines and answer on its own inbox prefix (the baseline's responder).
    const prefix = inboxPrefix({ role: "machine", name: machineId });
    const nc = await connectNats({ servers: up.info.servers, seed: readIdentity(dataPaths(dataDir).machineSeed).seed, name: "bench capacity-rtt", inboxPrefix: prefix, reconnect: false });
    cleanup.add("close the NATS connection", () => nc.close());
    const docker = createDocker(env);

    const capacitySubject = subjects.machine(machineId, "observe.capacity");
    const actorsSubject = subjects.machine(machineId, "observe.actors");
    // The baseline answers with a real capacity reply, so both sides move and parse the same bytes.
    const sample = await nc.request(capacitySubject, "{}", { timeout: 5_000 });
    const canned = sample.data.slice();
    const containers = capacitySchema.parse(sample.json()).containers;
    const echoSubject = `${prefix}.bench-echo`;
    const responder = nc.subscribe(echoSubject, { callback: (_error, msg) => void msg.respond(canned) });
    cleanup.add("unsubscribe the baseline responder", () => responder.unsubscribe());
    await nc.flush();

    const who = `machine ${machineId}`;
    const cases = {
      baseline: () => requestJson(nc, echoSubject, {}, capacitySchema, { who: "bench responder", timeoutMs: 5_000 }),
      capacity: () => requestJson(nc, capacitySubject, {}, capacitySchema, { who, timeoutMs: 5_000 }),
      actors: () => requestJson(nc, actorsSubject, {}, actorsReplySchema, { who, timeoutMs: 5_000 }),
      docker: () => docker.listContainers({ all: true }),
    };
    const names = Object.keys(cases) as Array<keyof typeof cases>;
    print(`capacity round trip: machine ${machineId}, reply ${canned.length} bytes, dockerd ${containers.ok ? `answering (${containers.total} containers)` : `NOT answering (${containers.error})`}`);
    print(`  ${options.warmup} warm-up + ${options.requests} sequential requests each, interleaved; baseline: trivial responder in this process, same connection, same reply bytes`);

    for (let i = 0; i < options.warmup; i++) for (const name of names) await cases[name]();
    const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<keyof typeof cases, number[]>;
    for (let i = 0; i < options.requests; i++) {
      // Interleaved, so drift (GC, CPU frequency, other load) hits every case alike.
      for (const name of names) {
        const started = performance.now();
        await cases[name]();
        samples[name].push(performance.now() - started);
      }
    }

    const s = Object.fromEntries(names.map((name) => [name, summarize(samples[name])])) as Record<keyof typeof cases, Summary>;
    const ratioOfMedians = round(s.capacity.p50 / s.baseline.p50);
    const line = (label: string, x: Summary, note: string) =>
      print(`  ${label.padEnd(34)} p50 ${ms(x.p50)}  p90 ${ms(x.p90)}  p99 ${ms(x.p99)}  mean ${ms(x.mean)}  ${note}`);
    line("bare request/reply (baseline)", s.baseline, "baseline");
    line("observe.capacity via ployzd", s.capacity, `${times(ratioOfMedians)} baseline (ratio of medians)`);
    line("  observe.actors via ployzd", s.actors, `${times(s.actors.p50 / s.baseline.p50)} baseline (participant, no dockerd)`);
    line("  docker listContainers, direct", s.docker, "(dockerd alone, from this process)");

    return {
      requests: options.requests,
      warmup: options.warmup,
      replyBytes: canned.length,
      containers,
      baselineMs: roundSummary(s.baseline),
      capacityMs: roundSummary(s.capacity),
      ratioOfMedians,
      breakdown: { observeActorsMs: roundSummary(s.actors), dockerListContainersMs: roundSummary(s.docker) },
    };
  });
}

/** `devDown`; a nats-server it leaves behind, or a ployzd that will not stop, is killed here. */
async function stopDaemon(dataDir: string): Promise<void> {
  const paths = dataPaths(dataDir);
  try {
    await devDown({ dataDir, timeoutMs: 15_000 });
  } catch (error) {
    const pid = livePid(paths.daemonPid);
    if (pid !== undefined) process.kill(pid, "SIGKILL");
    await stopOrphanNatsServer(paths.natsPid, paths.natsConfig);
    throw error;
  }
  const orphan = await stopOrphanNatsServer(paths.natsPid, paths.natsConfig);
  if (orphan) process.stderr.write(`bench: ployzd stopped but left its nats-server (pid ${orphan}) running; stopped it\n`);
}

function livePid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const result = await benchCapacityRtt(numberOptions(process.argv.slice(2), RTT_DEFAULTS));
    printBench({ capacityRtt: result });
  });
}
