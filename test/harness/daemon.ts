import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devDown, devUp, stopLeftServing, type DevUpResult } from "../../runtime/dev.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { isAlive, waitForExit } from "../../runtime/process.ts";
import { runCli, type CliResult } from "./cli.ts";

/** An isolated home for one test: its own XDG dirs, so the user's contexts are never touched. */
export interface TestHome {
  root: string;
  env: NodeJS.ProcessEnv;
  dataDir: string;
  cli(...args: string[]): Promise<CliResult>;
  /** Parses stdout of a `--json` command, failing with its output if it is not JSON. */
  json<T = any>(...args: string[]): Promise<T>;
  dispose(): Promise<void>;
}

export function createTestHome(): TestHome {
  const root = mkdtempSync(join(tmpdir(), "ployz-test-home-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(root, "config"),
    XDG_DATA_HOME: join(root, "data"),
  };
  delete env.PLOYZ_CONTEXT;
  const dataDir = join(root, "data", "ployz", "dev");
  const home: TestHome = {
    root,
    env,
    dataDir,
    cli: (...args) => runCli(args, env),
    async json(...args) {
      const result = await runCli([...args, "--json"], env);
      try {
        return JSON.parse(result.stdout);
      } catch {
        throw new Error(`ployzctl ${args.join(" ")} --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
      }
    },
    async dispose() {
      await stopEverything(dataDir);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return home;
}

/** Starts a dev daemon in the home (as `ployzctl dev up` does); `extraArgs` go to `ployzd run`. */
export async function startDevDaemon(home: TestHome, options: { faultInjection?: boolean; extraArgs?: string[]; env?: Record<string, string> } = {}): Promise<DevUpResult> {
  // Tests run several machines side by side: the DNS gets a free port instead of 53.
  return await devUp({
    dataDir: home.dataDir,
    env: { ...home.env, ...options.env },
    extraArgs: ["--dns-port", "0", ...(options.faultInjection ? ["--fault-injection"] : []), ...(options.extraArgs ?? [])],
  });
}

/** Stops the daemon and any nats-server, Caddy or DNS process it left behind, gracefully then by force. */
export async function stopEverything(dataDir: string): Promise<void> {
  await devDown({ dataDir, timeoutMs: 20_000 }).catch((error: unknown) => console.warn(`dev down of ${dataDir} failed: ${String(error)}`));
  // dev down stops these too, unless it failed before
  await stopLeftServing(dataDir);
  for (const file of [dataPaths(dataDir).daemonPid, dataPaths(dataDir).natsPid]) {
    const pid = readPid(file);
    if (pid && isAlive(pid)) {
      process.kill(pid, "SIGTERM");
      if (!(await waitForExit(pid, 10_000))) process.kill(pid, "SIGKILL");
    }
  }
}

export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A NATS connection with the home's machine identity (machine.nk): what a test that looks into (or
 * forges) the store needs — the operator's role may not read most of it.
 */
export async function connectAsMachine(home: TestHome) {
  const { readIdentity } = await import("../../runtime/keys.ts");
  const { connectNats } = await import("../../runtime/nats/connect.ts");
  const { inboxPrefix } = await import("../../model/roles.ts");
  const { readContext } = await import("../../runtime/context.ts");
  const context = readContext(home.env, "dev");
  return await connectNats({
    servers: context.servers,
    seed: readIdentity(dataPaths(home.dataDir).machineSeed).seed,
    name: "test (machine identity)",
    inboxPrefix: inboxPrefix({ role: "machine", name: context.machineId }),
    reconnect: false,
  });
}

/** A NATS connection with the home's local operator identity (what `ployzctl` connects as). */
export async function connectAsOperator(home: TestHome) {
  const { readContext, contextIdentity } = await import("../../runtime/context.ts");
  const { readIdentity } = await import("../../runtime/keys.ts");
  const { connectNats } = await import("../../runtime/nats/connect.ts");
  const { inboxPrefix } = await import("../../model/roles.ts");
  const context = readContext(home.env, "dev");
  return await connectNats({ servers: context.servers, seed: readIdentity(context.seedFile).seed, name: "test (operator)", inboxPrefix: inboxPrefix(contextIdentity(context)), reconnect: false });
}
