import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { clientInfoSchema } from "../../runtime/client-info.ts";
import { writeContext } from "../../runtime/context.ts";
import { dataPaths } from "../../runtime/paths.ts";
import type { LabMachine } from "../../runtime/lab/index.ts";
import { runNode } from "./cli.ts";

const CLI = fileURLToPath(new URL("../../bin/ployzctl.js", import.meta.url));
const DAEMON = fileURLToPath(new URL("../../bin/ployzd.js", import.meta.url));
export const LAB_WIREGUARD_PORT = 51820;

/** A lab machine's ployzd world: its data dir and a CLI home of its own, all under the machine's lab directory (teardown removes them). */
export function labHome(machine: LabMachine) {
  const root = join(machine.dir, "ployz");
  const dataDir = join(root, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(root, "config"), XDG_DATA_HOME: join(root, "xdg"), DOCKER_HOST: `unix://${machine.dockerSocket}` };
  delete env.PLOYZ_CONTEXT;
  const nsenter = ["nsenter", `--net=/var/run/netns/${machine.namespace}`, process.execPath];
  const run = (script: string, args: string[], timeoutMs = 60_000) => runNode(script, args, env, timeoutMs, nsenter);
  return {
    dataDir,
    env,
    /** `ployzd ARGS` inside the machine's namespace, to completion. */
    ployzd: (...args: string[]) => run(DAEMON, args),
    /** `ployzctl ARGS` inside the machine's namespace. */
    cli: (...args: string[]) => run(CLI, args),
    /** Starts `ployzd run` inside the namespace in the background; resolves once it is ready (its dev context written). */
    async start(args: string[], timeoutMs = 60_000) {
      const paths = dataPaths(dataDir);
      mkdirSync(paths.logsDir, { recursive: true, mode: 0o700 });
      const out = openSync(paths.daemonOut, "a", 0o600);
      const child = spawn(nsenter[0]!, [...nsenter.slice(1), DAEMON, "run", "--data-dir", dataDir, "--dns-port", "0", ...args], { detached: true, stdio: ["ignore", out, out], env });
      closeSync(out);
      child.unref();
      let exited: number | null | undefined;
      child.once("exit", (code) => (exited = code));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (existsSync(paths.clientInfo)) {
          const info = clientInfoSchema.parse(JSON.parse(readFileSync(paths.clientInfo, "utf8")));
          writeContext({ name: "dev", servers: info.servers, seedFile: info.seedFile, machineId: info.machineId, dataDir }, env);
          return info;
        }
        if (exited !== undefined || Date.now() > deadline) {
          const why = existsSync(paths.startupError) ? readFileSync(paths.startupError, "utf8") : tail(paths.daemonOut);
          throw new Error(`ployzd on ${machine.name} ${exited !== undefined ? `exited (${exited})` : "was not ready in time"}: ${why}`);
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
