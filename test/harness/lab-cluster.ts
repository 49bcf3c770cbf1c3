import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLabCluster, sweepLabs, type LabCluster, type LabMachinePhases } from "../../runtime/lab/index.ts";
import type { CliResult } from "./cli.ts";
import { BUSYBOX_IMAGE, execIn } from "./docker.ts";

const BUILD_BUSYBOX = fileURLToPath(new URL("../../scripts/build-busybox-image.sh", import.meta.url));

/** The runtime's lab cluster as tests and benchmarks start it, with where each machine's start went. */
export interface TestLabCluster extends LabCluster {
  /** By machine id: m1's founding (`ployzd run` → ready), then each joiner's phases, in order. */
  phasesMs: Map<string, LabMachinePhases>;
}

export interface TestLabClusterOptions {
  /** One region per machine: `["eu", "eu", "us"]` makes three machines. */
  regions: string[];
  /** More `ployzd run` options for every machine. */
  run?: string[];
  /** Machines (1-based) whose dockerd keeps its default bridge: ployzd makes the workload bridge. */
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
 * startLabCluster (runtime/lab/lab-cluster.ts) with one machine per region given, named `m1…mN`,
 * each running its cluster DNS on port 53 of its bridge (containers resolve through it), and the
 * busybox image in every machine's dockerd. The caller destroys the cluster (also when this
 * throws: it is destroyed here then).
 */
export async function startTestLabCluster(options: TestLabClusterOptions): Promise<TestLabCluster> {
  const phasesMs = new Map<string, LabMachinePhases>();
  const cluster = await startLabCluster({
    machines: options.regions.length,
    regions: options.regions.map((name) => ({ name })),
    prefix: "m",
    separator: "",
    run: ["--dns-port", "53", ...(options.run ?? [])],
    machineUp: (machine, phases) => phasesMs.set(machine.name, phases),
    readyTimeoutMs: 60_000,
    ...(options.withoutBip ? { withoutBip: options.withoutBip } : {}),
  });
  try {
    // No registry: build the image in m1's dockerd and copy it to the others (same image id everywhere).
    const first = cluster.lab.machine(1);
    execFileSync("bash", [BUILD_BUSYBOX], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DOCKER_HOST: `unix://${first.dockerSocket}` } });
    await cluster.lab.loadImages(first.docker!, [BUSYBOX_IMAGE]);
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return Object.assign(cluster, { phasesMs });
}

/** An instance as `ployzctl ps --json` lists it. */
export interface LabInstance {
  namespace: string;
  service: string;
  slot: string;
  machine: string;
  containerId: string;
  live: { ok: boolean; state?: string };
}

/**
 * One lab cluster for one test file: `setup` (beforeAll) starts it, `teardown` (afterAll) removes
 * it and its manifests' directory, and the helpers act on its machines by id (`m1`, `m2`, …).
 */
export function labTestSession(options: TestLabClusterOptions) {
  let cluster: TestLabCluster | undefined;
  let dir: string | undefined;
  const the = () => cluster ?? missing();
  const home = (id: string) => the().machine(id).home;
  const machineOf = (id: string) => the().machine(id).lab;
  return {
    cluster: the,
    home,
    machineOf,
    async setup(): Promise<void> {
      await sweepLabs();
      dir = mkdtempSync(join(tmpdir(), "ployz-lab-test-"));
      cluster = await startTestLabCluster(options);
    },
    async teardown(): Promise<void> {
      if (process.env.PLOYZ_TEST_LOGS) {
        for (const m of cluster?.machines ?? []) console.log(`${m.name}: ${m.home.warnings(40)}`);
      }
      // The lab's teardown stops every process whose command line names its directory.
      await cluster?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    /** Writes `spec` as a manifest file named `name`; its path. */
    manifest(name: string, spec: object): string {
      const file = join(dir ?? missing(), `${name}.json`);
      writeFileSync(file, JSON.stringify(spec));
      return file;
    },
    deployVia: (id: string, file: string) => home(id).cli("deploy", "-f", file, "--json"),
    async instances(namespace: string, via = "m1"): Promise<LabInstance[]> {
      return cliJson(await home(via).cli("ps", "-n", namespace, "--json")).instances as LabInstance[];
    },
    /** An HTTP GET from inside a container with busybox nc (its wget crashed over the overlay once). */
    fetchFrom: (machine: string, containerId: string, host: string, port = 8080) =>
      execIn(machineOf(machine).docker!, containerId, ["sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port}`]),
  };
}

function missing(): never {
  throw new Error("the lab test session has not been set up (call setup in beforeAll)");
}
