import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DaemonStartError } from "../../model/errors.ts";
import { clientInfoSchema, type ClientInfo } from "../client-info.ts";
import { writeContext } from "../context.ts";
import { dataPaths, PLOYZD_SCRIPT, PLOYZCTL_SCRIPT } from "../paths.ts";
import { runScript } from "../process.ts";
import type { LabMachineState } from "./lab-state.ts";

/** The WireGuard port every lab machine listens on (each on its own underlay address). */
export const LAB_WIREGUARD_PORT = 51820;

/**
 * A lab machine's ployzd world: its data dir and a CLI home of its own (XDG dirs, DOCKER_HOST on
 * its own dockerd), all under the machine's lab directory so the lab's teardown removes them and
 * finds every process by that directory. `ployzd` and `ployzctl` run inside the machine's network
 * namespace (`nsenter --net`).
 */
export function labHome(machine: Pick<LabMachineState, "dir" | "namespace"> & { name: string }) {
  const root = join(machine.dir, "ployz");
  const dataDir = join(root, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(root, "config"), XDG_DATA_HOME: join(root, "xdg"), DOCKER_HOST: `unix://${join(machine.dir, "docker.sock")}` };
  delete env.PLOYZ_CONTEXT;
  const nsenter = ["nsenter", `--net=/run/netns/${machine.namespace}`, process.execPath];
  const run = (script: string, args: string[], timeoutMs = 60_000) => runScript(nsenter, script, args, env, timeoutMs);
  return {
    name: machine.name,
    namespace: machine.namespace,
    dataDir,
    env,
    /** `ployzd ARGS` inside the machine's namespace, to completion. */
    ployzd: (...args: string[]) => run(PLOYZD_SCRIPT, args),
    /** `ployzctl ARGS` inside the machine's namespace, with the machine's own `dev` context. */
    cli: (...args: string[]) => run(PLOYZCTL_SCRIPT, args),
    /** What the running ployzd wrote about how to reach it, or undefined before it is ready. */
    clientInfo(): ClientInfo | undefined {
      const file = dataPaths(dataDir).clientInfo;
      return existsSync(file) ? clientInfoSchema.parse(JSON.parse(readFileSync(file, "utf8"))) : undefined;
    },
    /** The last warnings and errors of its ployzd's log, one a line, for a failure's message ("(no log)" before it ran). */
    warnings(last = 8): string {
      const file = dataPaths(dataDir).daemonLog;
      if (!existsSync(file)) return "(no log)";
      return readFileSync(file, "utf8").split("\n").filter((l) => /"level":(40|50|60)/.test(l)).slice(-last).map((l) => l.slice(0, 600)).join("\n  ") || "(none)";
    },
    /** Starts `ployzd run` inside the namespace in the background; resolves once it is ready (its own `dev` context written). */
    async start(args: string[], timeoutMs = 60_000): Promise<ClientInfo> {
      const paths = dataPaths(dataDir);
      mkdirSync(paths.logsDir, { recursive: true, mode: 0o700 });
      const out = openSync(paths.daemonOut, "a", 0o600);
      const child = spawn(nsenter[0]!, [...nsenter.slice(1), PLOYZD_SCRIPT, "run", "--data-dir", dataDir, "--dns-port", "0", ...args], { detached: true, stdio: ["ignore", out, out], env });
      closeSync(out);
      child.unref();
      let exited: number | null | undefined;
      child.once("exit", (code) => (exited = code));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const info = this.clientInfo();
        if (info && info.pid === child.pid) {
          writeContext({ name: "dev", servers: info.servers, seedFile: info.seedFile, machineId: info.machineId, dataDir }, env);
          return info;
        }
        if (exited !== undefined || Date.now() > deadline) {
          const why = existsSync(paths.startupError) ? readFileSync(paths.startupError, "utf8") : tail(paths.daemonOut);
          throw new DaemonStartError(`ployzd on lab machine ${machine.name} ${exited !== undefined ? `exited (${exited})` : `was not ready within ${timeoutMs / 1000} s`}: ${why}`, { hint: `see ${paths.daemonLog}` });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
export type LabHome = ReturnType<typeof labHome>;

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ");
  } catch (error) {
    return `(no output: ${(error as Error).message})`;
  }
}
