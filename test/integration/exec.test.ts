import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aNamespaceSpec, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { eventually } from "../harness/daemon.ts";
import { execIn } from "../harness/docker.ts";

/**
 * `ployzctl exec` on one machine (the instance on another lab machine waits for the mesh lab):
 * output and exit code, stdin, a real terminal under tmux (resize, Ctrl-C reaches the remote
 * command and not the CLI), an observer refused, and the session recorded as Status.
 */

const CLI = fileURLToPath(new URL("../../bin/ployzctl.js", import.meta.url));
const TMUX_SOCKET = `ployz-exec-${randomBytes(4).toString("hex")}`;

let cluster: TestCluster;
let ns: string;
beforeAll(async () => {
  cluster = await startTestCluster();
  ns = cluster.namespace("exec");
  await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("exec") }) });
}, 120_000);
afterAll(async () => {
  spawnSync("tmux", ["-L", TMUX_SOCKET, "kill-server"], { stdio: "ignore" });
  await cluster?.dispose();
});

/** `ployzctl ARGS` with `input` on its stdin. */
function cliWithInput(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cluster.home.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe("ployzctl exec", () => {
  it("passes the command's output, its stderr and its exit code through", async () => {
    const result = await cluster.home.cli("exec", "-n", ns, "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3");
    expect(result).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    const slot = await cluster.home.cli("exec", "-n", ns, "web#0", "--", "true");
    expect(slot.code, slot.stderr).toBe(0);
    const missing = await cluster.home.cli("exec", "-n", ns, "web#4", "--", "true");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("has no slot 4");
  });

  it("-i passes stdin on, and the end of it", async () => {
    const result = await cliWithInput(["exec", "-n", ns, "-i", "web", "--", "sh", "-c", "cat; echo done"], "hello\nworld\n");
    expect(result).toEqual({ code: 0, stdout: "hello\nworld\ndone\n", stderr: "" });
  });

  it("-it gives a real terminal: its size and resizes, Ctrl-C ends the remote command and not the CLI, the exit code comes back", async () => {
    if (spawnSync("tmux", ["-V"]).status !== 0) throw new Error("tmux is not installed (scripts/setup.sh installs it)");
    const tmux = (...args: string[]) => execFileSync("tmux", ["-L", TMUX_SOCKET, ...args], { encoding: "utf8" });
    const screen = () => tmux("capture-pane", "-p", "-t", "exec");
    /** Waits until the screen matches `pattern`; a timeout shows the screen. */
    const until = async (pattern: RegExp, what: string) => {
      try {
        await eventually(async () => (pattern.test(screen()) ? true : undefined), what, 20_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}; the screen:\n${screen()}`);
      }
    };
    const env: NodeJS.ProcessEnv = { ...cluster.home.env, PS1: "host$ ", TERM: "xterm" };
    delete env.TMUX;
    execFileSync("tmux", ["-L", TMUX_SOCKET, "-f", "/dev/null", "new-session", "-d", "-s", "exec", "-x", "100", "-y", "30", "bash --norc --noprofile"], { env });
    tmux("send-keys", "-t", "exec", `node ${CLI} exec -n ${ns} -it web -- sh; echo "CLI-EXIT:$?"`, "Enter");
    await until(/^\/ #\s*$/m, "the container's shell prompt");
    tmux("send-keys", "-t", "exec", "stty size", "Enter");
    await until(/^30 100\s*$/m, "stty size: 30 100");
    tmux("resize-window", "-t", "exec", "-x", "120", "-y", "40");
    tmux("send-keys", "-t", "exec", "clear; stty size", "Enter");
    await until(/^40 120\s*$/m, "stty size: 40 120 after a resize");

    tmux("send-keys", "-t", "exec", "sleep 300", "Enter");
    const [container] = await cluster.containersOf(ns);
    await eventually(async () => ((await execIn(cluster.docker, container!.Id, ["sh", "-c", "ps | grep -c '[s]leep 300'"])).output.trim() === "1" ? true : undefined), "sleep 300 to run in the container");
    tmux("send-keys", "-t", "exec", "C-c");
    // the remote sleep was interrupted (130 = 128 + SIGINT) and its shell goes on; the CLI did not end
    await until(/^\^C\s*$/m, "the interrupt to reach the remote terminal");
    tmux("send-keys", "-t", "exec", "echo SLEEP-ENDED:$?", "Enter");
    await until(/^SLEEP-ENDED:130\s*$/m, "the remote sleep to be interrupted");
    expect(screen()).not.toContain("CLI-EXIT");
    expect((await execIn(cluster.docker, container!.Id, ["sh", "-c", "ps | grep -c '[s]leep 300' || true"])).output.trim()).toBe("0");

    tmux("send-keys", "-t", "exec", "exit 7", "Enter");
    await until(/^CLI-EXIT:7\s*$/m, "the CLI to exit with the shell's code");
  }, 90_000);

  it("is refused to an observer, by NATS, naming the role", async () => {
    const created = await cluster.home.cli("credentials", "create", "onlooker", "--role", "observer");
    expect(created.code, created.stderr).toBe(0);
    const file = join(cluster.home.root, "onlooker.json");
    writeFileSync(file, created.stdout);
    chmodSync(file, 0o600);
    expect((await cluster.home.cli("context", "import", file)).code).toBe(0);
    const refused = await cluster.home.cli("--context", "onlooker", "exec", "-n", ns, "web", "--", "touch", "/tmp/observer-was-here");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the observer role \(context onlooker, identity onlooker\) may not/);
    const [container] = await cluster.containersOf(ns);
    expect((await execIn(cluster.docker, container!.Id, ["sh", "-c", "test -e /tmp/observer-was-here; echo $?"])).output.trim()).toBe("1");
  });

  it("is recorded as Status: who ran what and how it ended, never its output", async () => {
    await cluster.home.cli("exec", "-n", ns, "web", "--", "sh", "-c", "echo secret-output-1234; exit 5");
    const events = await eventually(async () => {
      const result = await cluster.home.cli("events", "-n", ns, "--json");
      const list = result.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { kind: string; message: string });
      return list.some((e) => e.kind === "exec" && e.message.includes("exit code 5")) ? list : undefined;
    }, "the exec's end in the events");
    const ended = events.find((e) => e.kind === "exec" && e.message.includes("exit code 5"))!;
    expect(ended.message).toMatch(/^exec in web#0 by local-\S+ \(\S+@\S+\) ended with exit code 5: sh -c "echo secret-output-1234; exit 5"$/);
    expect(events.some((e) => e.kind === "exec" && /started: sh -c/.test(e.message))).toBe(true);
    expect(JSON.stringify(events.filter((e) => e.kind === "exec").map((e) => e.message.replace(/: sh -c .*/, "")))).not.toContain("secret-output");
  });
});
