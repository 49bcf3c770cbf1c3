/**
 * Several machines, measured in one lab of three (each a network namespace with its own ployzd,
 * nats-server, dockerd, WireGuard, Caddy and DNS; m2 and m3 joined with invites), every number
 * against a baseline of the same run:
 *
 * - join: `machine invite` → the joiner listed by every machine with every handshake up, per
 *   machine, against founding the cluster (m1's `ployzd run` → ready);
 * - HTTP between containers on two machines (m1 → m2 over WireGuard) against two on one machine
 *   (m1 → m1), by address, busybox `nc` in a loop inside the client container, interleaved rounds;
 * - a 3-replica deploy spread over the 3 machines against one with all 3 on m1 (`placement.machines`),
 *   each a fresh namespace and a fresh `ployzctl deploy` process, interleaved.
 *
 *   npx tsx bench/lab-cluster.ts [--runs 3] [--requests 200] [--rounds 5]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sweepLabs } from "../runtime/lab/index.ts";
import { BUSYBOX_IMAGE, execIn } from "../test/harness/docker.ts";
import type { LabMachinePhases } from "../runtime/lab/index.ts";
import { cliJson, startTestLabCluster } from "../test/harness/lab-cluster.ts";
import { withCleanup } from "./support/cleanup.ts";
import { isMain, numberOptions, printBench, runMain } from "./support/cli.ts";
import { ms, round, roundSummary, summarize, times, type Summary } from "./support/stats.ts";

export const LAB_CLUSTER_DEFAULTS = { runs: 3, requests: 200, rounds: 5 };
export type LabClusterBenchOptions = typeof LAB_CLUSTER_DEFAULTS;

export interface LabClusterBenchResult {
  joinMs: { founding: number; joins: Record<string, number>; phases: Record<string, Omit<JoinPhases, "type">>; ratioOfMedianJoinToFounding: number };
  httpPerRequestMs: { sameMachine: Summary; crossMachine: Summary; ratioOfMedians: number; requestsPerRound: number };
  deploy3Ms: { oneMachine: Summary; threeMachines: Summary; ratioOfMedians: number };
}

type JoinPhases = Extract<LabMachinePhases, { type: "joined" }>;

interface Instance {
  service: string;
  machine: string;
  containerId: string;
  address?: string;
}

const httpd = (replicas: number, placement?: { machines: string[] }, mode: "replicated" | "global" = "replicated") => ({
  image: BUSYBOX_IMAGE,
  command: ["/bin/sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"],
  ports: [{ container: 8080 }],
  mode,
  ...(mode === "replicated" ? { replicas } : {}),
  readiness: { type: "http", port: 8080, path: "/" },
  resources: { memory: "16Mi" },
  ...(placement ? { placement } : {}),
});

export async function benchLabCluster(options: LabClusterBenchOptions, print: (line: string) => void = console.log): Promise<LabClusterBenchResult> {
  await sweepLabs();
  const dir = mkdtempSync(join(tmpdir(), "ployz-bench-lab-"));
  try {
    return await withCleanup(async (cleanup) => {
      const { value: cluster } = await cleanup.own("the lab cluster", startTestLabCluster({ regions: ["eu", "eu", "eu"] }), (c) => c.destroy());
      const m1 = cluster.machine("m1").home;
      const deploy = async (name: string, spec: object) => {
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(spec));
        const started = performance.now();
        const result = await m1.cli("deploy", "-f", file, "--json");
        const elapsed = performance.now() - started;
        if (result.code !== 0) throw new Error(`deploy of ${name} failed: ${result.stderr}`);
        return elapsed;
      };
      const instances = async (namespace: string) => cliJson<{ instances: Instance[] }>(await m1.cli("ps", "-n", namespace, "--json")).instances;

      // Join.
      const founding = cluster.phasesMs.get("m1")!.start;
      const phases = Object.fromEntries([...cluster.phasesMs].flatMap(([id, p]) => (p.type === "joined" ? [[id, p] as const] : [])));
      const joins = Object.fromEntries(Object.entries(phases).map(([id, p]) => [id, p.invite + p.join + p.start + p.meshed]));
      const joinMedian = summarize(Object.values(joins)).p50;
      const joinRatio = round(joinMedian / founding);
      print(`lab cluster: 3 machines, joined with invites`);
      print(`  founding (ployzd run → ready)          ${ms(founding)}`);
      for (const [id, t] of Object.entries(joins)) {
        const p = phases[id]!;
        print(`  join ${id} (invite → ready everywhere)    ${ms(t)}  ${times(round(t / founding))} founding`);
        print(`    machine invite ${ms(p.invite)}, ployzd join ${ms(p.join)}, ployzd run → ready ${ms(p.start)}, seen by all with handshakes ${ms(p.meshed)} (polled with machine ls)`);
      }

      // HTTP between containers.
      await deploy("http", { namespace: "http", services: { web: httpd(0, undefined, "global"), client: { image: BUSYBOX_IMAGE, command: ["sleep", "86400"], mode: "global", resources: { memory: "8Mi" } } } });
      const all = await instances("http");
      const client = all.find((i) => i.service === "client" && i.machine === "m1")!;
      const local = all.find((i) => i.service === "web" && i.machine === "m1")!.address!;
      const remote = all.find((i) => i.service === "web" && i.machine === "m2")!.address!;
      const loop = async (address: string) => {
        const script = `i=0; while [ $i -lt ${options.requests} ]; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc ${address} 8080 | grep -q 200 || exit 7; i=$((i+1)); done`;
        const started = performance.now();
        const result = await execIn(cluster.lab.machine(1).docker!, client.containerId, ["sh", "-c", script]);
        const elapsed = performance.now() - started;
        if (result.code !== 0) throw new Error(`HTTP loop to ${address} failed (${result.code}): ${result.output}`);
        return elapsed / options.requests;
      };
      await loop(local);
      await loop(remote); // warm: ARP, the WireGuard session
      const same: number[] = [];
      const cross: number[] = [];
      for (let r = 0; r < options.rounds; r++) {
        same.push(await loop(local));
        cross.push(await loop(remote));
      }
      const http = { sameMachine: summarize(same), crossMachine: summarize(cross) };
      const httpRatio = round(http.crossMachine.p50 / http.sameMachine.p50);
      print(`HTTP between containers: ${options.rounds} rounds of ${options.requests} requests (a new nc each), interleaved`);
      print(`  m1 → m1 (one machine)          p50 ${ms(http.sameMachine.p50)} per request`);
      print(`  m1 → m2 (over the overlay)     p50 ${ms(http.crossMachine.p50)} per request  ${times(httpRatio)} one machine`);

      // A 3-replica deploy over three machines vs one.
      const one: number[] = [];
      const three: number[] = [];
      for (let r = 0; r < options.runs; r++) {
        one.push(await deploy(`one${r}`, { namespace: `one${r}`, services: { web: httpd(3, { machines: ["m1"] }) } }));
        three.push(await deploy(`three${r}`, { namespace: `three${r}`, services: { web: httpd(3) } }));
        const spread = new Set((await instances(`three${r}`)).map((i) => i.machine));
        if (spread.size !== 3) throw new Error(`three${r} was not spread over three machines: ${[...spread].join(", ")}`);
      }
      const deploys = { oneMachine: summarize(one), threeMachines: summarize(three) };
      const deployRatio = round(deploys.threeMachines.p50 / deploys.oneMachine.p50);
      print(`3-replica deploy (a fresh namespace and ployzctl process each, ${options.runs} runs, interleaved)`);
      print(`  all on m1                      p50 ${ms(deploys.oneMachine.p50)}`);
      print(`  over m1, m2, m3                p50 ${ms(deploys.threeMachines.p50)}  ${times(deployRatio)} one machine`);

      return {
        joinMs: { founding: round(founding, 1), joins: Object.fromEntries(Object.entries(joins).map(([k, v]) => [k, round(v, 1)])), phases: Object.fromEntries(Object.entries(phases).map(([k, p]) => [k, { invite: round(p.invite, 1), join: round(p.join, 1), start: round(p.start, 1), meshed: round(p.meshed, 1) }])), ratioOfMedianJoinToFounding: joinRatio },
        httpPerRequestMs: { sameMachine: roundSummary(http.sameMachine), crossMachine: roundSummary(http.crossMachine), ratioOfMedians: httpRatio, requestsPerRound: options.requests },
        deploy3Ms: { oneMachine: roundSummary(deploys.oneMachine), threeMachines: roundSummary(deploys.threeMachines), ratioOfMedians: deployRatio },
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    printBench({ labCluster: await benchLabCluster(numberOptions(process.argv.slice(2), LAB_CLUSTER_DEFAULTS)) });
  });
}
