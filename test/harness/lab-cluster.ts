import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLab, type Lab } from "../../runtime/lab/index.ts";
import type { CliResult } from "./cli.ts";
import { eventually } from "./daemon.ts";
import { BUSYBOX_IMAGE } from "./docker.ts";
import { LAB_WIREGUARD_PORT, labHome, type LabHome } from "./lab-ployzd.ts";

const BUILD_BUSYBOX = fileURLToPath(new URL("../../scripts/build-busybox-image.sh", import.meta.url));

/** A cluster of lab machines `m1…mN` running the real ployzd, joined through invites (tests and benchmarks). */
export interface LabCluster {
  lab: Lab;
  /** Machine ids in order: `m1`, `m2`, … */
  ids: string[];
  home(id: string): LabHome;
  /** Each machine's gateway HTTP address (`http://127.0.0.1:PORT`, inside its namespace). */
  gateway(id: string): string;
  /** ms from m1's `ployzd run` to ready (founding), and for each joiner from `machine invite` to ready everywhere. */
  readyMs: Record<string, number>;
  /** Where each joiner's time went (ms): `machine invite`, `ployzd join`, `ployzd run` to ready, then until every machine sees it with handshakes. */
  joinPhasesMs: Record<string, { invite: number; join: number; start: number; meshed: number }>;
}

export interface LabClusterOptions {
  /** One region per machine: `["eu", "eu", "us"]` makes three machines. */
  regions: string[];
  /** More `ployzd run` options for every machine. */
  run?: string[];
  /** Machines (1-based) whose dockerd starts without `--bip`, like a real machine's: ployzd makes the workload bridge. */
  withoutBip?: number[];
}

/** The JSON a CLI command printed, or an error with what it said. */
export function cliJson<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`, { cause: error });
  }
}

/**
 * Creates a lab with one machine per region given, the busybox image in every machine's dockerd,
 * m1 founding the cluster and each other machine joining with a token from m1's `machine invite`.
 * Every machine runs its cluster DNS on port 53 of its bridge (containers resolve through it). A
 * joiner is ready when every machine lists it and sees all its peers' handshakes. The caller
 * destroys `lab` (also when this throws: it is destroyed here then).
 */
export async function startLabCluster(options: LabClusterOptions): Promise<LabCluster> {
  const lab = await createLab({ machines: options.regions.length, ...(options.withoutBip ? { withoutBip: options.withoutBip } : {}) });
  try {
    // No registry: build the image in m1's dockerd and copy it to the others (same image id everywhere).
    execFileSync("bash", [BUILD_BUSYBOX], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DOCKER_HOST: `unix://${lab.machine(1).dockerSocket}` } });
    await lab.loadImages(lab.machine(1).docker!, [BUSYBOX_IMAGE]);
    const ids = options.regions.map((_, i) => `m${i + 1}`);
    const homes = ids.map((_, i) => labHome(lab.machine(i + 1)));
    const gateways = new Map<string, string>();
    const readyMs: Record<string, number> = {};
    const joinPhasesMs: LabCluster["joinPhasesMs"] = {};
    const mesh = (n: number) => ["--endpoint", lab.machine(n).endpoint(LAB_WIREGUARD_PORT), "--wireguard-interface", lab.machine(n).wireguard, "--subnet", lab.machine(n).subnet];
    const run = ["--dns-port", "53", ...(options.run ?? [])];

    let started = performance.now();
    const first = await homes[0]!.start(["--machine-id", "m1", "--region", options.regions[0]!, ...run, ...mesh(1)]);
    gateways.set("m1", first.gateway!);
    readyMs.m1 = performance.now() - started;
    for (let n = 2; n <= ids.length; n++) {
      const id = ids[n - 1]!;
      started = performance.now();
      const lap = (() => {
        let last = started;
        return () => {
          const now = performance.now();
          const elapsed = now - last;
          last = now;
          return elapsed;
        };
      })();
      const invite = cliJson(await homes[0]!.cli("machine", "invite", "--region", options.regions[n - 1]!, "--json"));
      const invited = lap();
      const joined = await homes[n - 1]!.ployzd("join", invite.token, "--data-dir", homes[n - 1]!.dataDir, "--machine-id", id, ...mesh(n));
      if (joined.code !== 0) throw new Error(`${id} did not join: ${joined.stderr}`);
      const joining = lap();
      gateways.set(id, (await homes[n - 1]!.start(run)).gateway!);
      const starting = lap();
      const members = ids.slice(0, n);
      await Promise.all(homes.slice(0, n).map((h, i) => eventually(async () => (meshComplete(cliJson(await h.cli("machine", "ls", "--json")), members) ? true : undefined), `m${i + 1} to list ${id} with every handshake up`, 60_000)));
      joinPhasesMs[id] = { invite: invited, join: joining, start: starting, meshed: lap() };
      readyMs[id] = performance.now() - started;
    }
    return {
      lab,
      ids,
      home: (id) => homes[ids.indexOf(id)] ?? unknown(id),
      gateway: (id) => gateways.get(id) ?? unknown(id),
      readyMs,
      joinPhasesMs,
    };
  } catch (error) {
    // The lab's directory goes with it: say what the daemons warned about first.
    const warnings = lab.machines.map((m) => `${m.name}: ${warningsIn(join(labHome(m).dataDir, "logs", "ployzd.log"))}`).join("\n");
    await lab.destroy();
    throw new Error(`${(error as Error).message}\nployzd warnings:\n${warnings}`, { cause: error });
  }
}

/** The last warnings and errors of a ployzd log, for a failure's message. */
export function warningsIn(file: string, last = 8): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").split("\n").filter((l) => /"level":(40|50|60)/.test(l)).slice(-last).map((l) => l.slice(0, 600)).join("\n  ") || "(none)";
}

/** Whether a `machine ls --json` reply lists exactly `members`, each reachable and seeing each other one with a handshake. */
function meshComplete(reply: { machines?: Array<{ id: string; reach: string; peers: Array<{ machine: string; state: string; handshakeAgeMs: number | null }> }> }, members: string[]): boolean {
  const rows = reply.machines ?? [];
  if (rows.map((r) => r.id).sort().join() !== [...members].sort().join()) return false;
  return rows.every((r) => r.reach === "reachable" && members.filter((m) => m !== r.id).every((m) => r.peers.some((p) => p.machine === m && p.state === "up" && p.handshakeAgeMs !== null)));
}

function unknown(id: string): never {
  throw new Error(`the lab cluster has no machine ${id}`);
}
