import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { connectClient, type PloyzClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { devUp } from "../../runtime/dev.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { applyActors, emptyTopModel, topView } from "../../model/top-model.ts";
import { openStore } from "../../runtime/store.ts";
import { aNamespaceSpec, httpService } from "../harness/cluster.ts";
import { connectAsMachine, createTestHome, eventually, type TestHome } from "../harness/daemon.ts";

/**
 * `ployz top` and the debug views against a real one-machine dev cluster: the daemon runs with
 * fault injection and `--inspect` pointed at a Stately-inspector stand-in on loopback; `top`
 * runs in a real terminal under tmux.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = fileURLToPath(new URL("../../bin/ployzctl.js", import.meta.url));
const TMUX_SOCKET = `ployz-top-${randomBytes(4).toString("hex")}`;

let home: TestHome;
let client: PloyzClient;
let machineId: string;
let inspector: WebSocketServer;
const inspected: Array<{ type?: string; name?: string; snapshot?: { context?: unknown } }> = [];

beforeAll(async () => {
  inspector = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => inspector.once("listening", resolve));
  inspector.on("connection", (socket) => socket.on("message", (data) => inspected.push(JSON.parse(String(data)))));
  const port = (inspector.address() as { port: number }).port;
  home = createTestHome();
  const up = await devUp({ dataDir: home.dataDir, env: home.env, extraArgs: ["--dns-port", "0", "--fault-injection", "--inspect", "--inspect-url", `ws://127.0.0.1:${port}`] });
  machineId = up.info.machineId;
  client = await connectClient(readContext(home.env, "dev"));
});

afterAll(async () => {
  spawnSync("tmux", ["-L", TMUX_SOCKET, "kill-server"], { stdio: "ignore" });
  await client?.close().catch(() => undefined);
  await home?.dispose();
  for (const socket of inspector?.clients ?? []) socket.terminate();
  await new Promise((resolve) => (inspector ? inspector.close(resolve) : resolve(undefined)));
});

describe("ployzd run --inspect", () => {
  it("forwards the node's XState inspection to the Stately inspector, contexts redacted to scalars", async () => {
    const node = await eventually(async () => inspected.find((e) => e.type === "@xstate.actor" && e.name === "node"), "the node actor at the inspector");
    expect(node).toBeDefined();
    const snapshot = await eventually(async () => inspected.find((e) => e.type === "@xstate.snapshot" && (e.snapshot?.context as { machineId?: string } | undefined)?.machineId), "a node snapshot");
    // The node's context holds a clock function; only scalars are forwarded.
    expect(snapshot.snapshot!.context).toEqual({ machineId });
  });
});

describe("the overview API", () => {
  it("reads machines, regions, namespaces, leases and the deploys they stand for; migrations say they do not exist yet", async () => {
    const empty = await client.overview();
    expect(empty.machines.map((m) => m.id)).toEqual([machineId]);
    expect(empty.regions).toEqual([{ name: "local", role: "compute", explicit: false, machines: [machineId] }]);
    expect(empty).toMatchObject({ namespaces: [], leases: [], deploys: [], migrations: { supported: false, inFlight: [] }, invalid: [] });

    // A deploy in flight, as a coordinator leaves it: the lease held, its last phase recorded.
    const nc = await connectAsMachine(home);
    try {
      const store = await openStore(nc);
      const since = new Date().toISOString();
      await store.kv.leases.put("deploy.topdemo", JSON.stringify({ holder: machineId, deployId: "d-top", since }));
      await store.js.publish("status.topdemo.deploy", JSON.stringify({ type: "deploy", namespace: "topdemo", deployId: "d-top", machine: machineId, phase: "start", state: "started", at: since }));
      const busy = await client.overview();
      expect(busy.leases).toEqual([{ key: "deploy.topdemo", kind: "deploy", name: "topdemo", holder: machineId, deployId: "d-top", since }]);
      expect(busy.deploys).toEqual([{ namespace: "topdemo", deployId: "d-top", machine: machineId, since, phase: { phase: "start", state: "started", at: since } }]);

      const once = await home.cli("top", "--once");
      expect(once.code, once.stderr).toBe(0);
      expect(once.stdout).toMatch(new RegExp(`deploys topdemo \\(d-top on ${machineId}, start started, \\d+(ms|s)\\) · migrations none · leases deploy\\.topdemo → ${machineId}`));
      await store.kv.leases.delete("deploy.topdemo");
    } finally {
      await nc.close();
    }
  });
});

describe("the first frame: each member asked for its actors", () => {
  it("top --once answers from the inspector at once; a member whose ployzd is not running is unreachable with why", async () => {
    const ghost = `ghost-${randomBytes(3).toString("hex")}`;
    const nc = await connectAsMachine(home);
    const store = await openStore(nc);
    const now = new Date().toISOString();
    const record: MachineRecord = { id: ghost, name: ghost, region: "local", storage: false, state: "active", natsUser: `U${"A".repeat(55)}`, joinedAt: now, updatedAt: now };
    await store.kv.machines.put(ghost, JSON.stringify(record));
    try {
      const view = await home.json<{ header: { machines: Record<string, number> }; machines: Array<{ id: string; liveness: string; unreachableReason?: string; actors: unknown[] }> }>("top", "--once");
      expect(view.machines.map((m) => [m.id, m.liveness, m.unreachableReason])).toEqual(
        [
          [machineId, "live", undefined],
          [ghost, "unreachable", "no responder (its ployzd is down, or runs with --no-inspector)"],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      expect(view.machines.find((m) => m.id === machineId)!.actors.length).toBeGreaterThan(5);
      expect(view.header.machines).toMatchObject({ reachable: 1, waiting: 0, total: 2 });
      const text = await home.cli("top", "--once");
      expect(text.stdout).toContain(`■ ${ghost} (local) — UNREACHABLE: no responder`);
    } finally {
      await store.kv.machines.delete(ghost);
      await nc.close();
    }
  });

  it("the inspector answers a request with the snapshot it would publish", async () => {
    const asked = await client.actors(machineId);
    expect(asked).toMatchObject({ type: "actors", machine: machineId });
    expect(asked.actors.find((a) => a.path === "node/inspector")).toMatchObject({ chart: "supervisedChild", state: "running" });
  });

  it("a finished deploy coordinator leaves the tree shortly after; its outcome stays among the recent operations", async () => {
    let model = emptyTopModel;
    const seen: string[] = [];
    const stop = client.watchActors(
      (message) => {
        model = applyActors(model, message, Date.now());
        const deploy = message.actors.find((a) => a.chart === "deploy");
        seen.push(deploy ? `${deploy.status}:${deploy.state}` : "none");
      },
      { machine: machineId },
    );
    try {
      const namespace = `toppreview-${randomBytes(2).toString("hex")}`;
      const preview = await client.deploy({ spec: aNamespaceSpec(namespace, { web: httpService("t") }), preview: true });
      expect(preview.type).toBe("previewed");
      const op = await eventually(async () => model.recent.find((r) => r.namespace === namespace), "the preview among the recent operations");
      expect(op).toMatchObject({ machine: machineId, kind: "deploy", outcome: "previewed" });
      // Seen finished in the tree, then gone from it, while the header keeps it.
      await eventually(async () => (seen.some((s) => s.startsWith("done:")) && seen.at(-1) === "none" ? true : undefined), "the finished coordinator to leave the tree");
      const view = topView(model, Date.now());
      expect(view.machines.find((m) => m.id === machineId)!.actors.some((a) => a.chart === "deploy")).toBe(false);
      expect(view.header.recent.map((r) => r.namespace)).toContain(namespace);
    } finally {
      stop();
    }
  });
});

describe("top --once and the debug views", () => {
  it("top --once --json: the machine reachable, every supervised actor with its statechart and state", async () => {
    const view = await home.json<{ header: { machines: { reachable: number; total: number } }; machines: Array<{ id: string; reachable: boolean; actors: Array<Record<string, unknown>> }> }>("top", "--once");
    expect(view.header.machines).toMatchObject({ reachable: 1, total: 1 });
    const machine = view.machines.find((m) => m.id === machineId)!;
    expect(machine.reachable).toBe(true);
    expect(machine.actors[0]).toMatchObject({ name: "node", path: "node", chart: "node", state: "running.serving" });
    for (const name of ["participant", "api", "inspector", "meshPeer"]) {
      expect(machine.actors.find((a) => a.path === `node/${name}`)).toMatchObject({ chart: "supervisedChild", state: "running", restarts: expect.any(Number) });
    }
    // One dev machine has no WireGuard: meshPeer follows membership and applies nothing.
    expect(machine.actors.find((a) => a.path === "node/meshPeer/child")).toMatchObject({ chart: "meshPeer", state: "watching.idle" });
    expect(machine.actors.filter((a) => String(a.name).startsWith("peer:"))).toEqual([]);
  });

  it("debug actors lists the tree; debug events --follow streams an injected crash as it happens", async () => {
    const follower = spawn(process.execPath, [CLI, "debug", "events", "--follow", "--json"], { env: home.env, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const actors = await home.cli("debug", "actors");
      expect(actors.code, actors.stderr).toBe(0);
      expect(actors.stdout).toContain(`${machineId}: `);
      expect(actors.stdout).toMatch(/├─ api\s+supervisedChild\s+running\s+active/);

      let out = "";
      let err = "";
      follower.stdout.on("data", (d: Buffer) => (out += d.toString()));
      follower.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => follower.once("exit", resolve));
      await eventually(async () => (err.includes("following events") ? true : undefined), "debug events --follow to start");
      const crash = await home.cli("debug", "crash", "api");
      expect(crash.code, crash.stderr).toBe(0);
      const line = await eventually(async () => out.split("\n").find((l) => l.includes('"path":"node/api"') && l.includes('"event":"INJECT_CRASH"')), "the INJECT_CRASH event of node/api");
      expect(JSON.parse(line)).toMatchObject({ machine: machineId, path: "node/api", event: "INJECT_CRASH", state: "backoff" });
      follower.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (follower.exitCode === null) follower.kill("SIGKILL");
    }
  });
});

describe("ployz top in a real terminal (tmux)", () => {
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", TMUX_SOCKET, ...args], { encoding: "utf8" });
  const screen = () => tmux("capture-pane", "-p", "-t", "top");
  const paneValue = (format: string) => tmux("display-message", "-p", "-t", "top", format).trim();

  it("shows the node's actors, a crash's restart, and q leaves the terminal as it was", async () => {
    if (spawnSync("tmux", ["-V"]).status !== 0) throw new Error("tmux is not installed (scripts/setup.sh installs it)");
    const env: NodeJS.ProcessEnv = { ...home.env, PS1: "top-e2e$ ", TERM: "xterm-256color" };
    delete env.CI; // ink in CI mode draws only when it exits
    delete env.TMUX;
    execFileSync("tmux", ["-L", TMUX_SOCKET, "-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", "100", "-y", "30", "-c", ROOT, "bash --norc --noprofile"], { env });
    tmux("send-keys", "-t", "top", `S=$(stty -g); echo BEFORE-TOP; node ${CLI} top; echo "AFTER-TOP:$?"; [ "$(stty -g)" = "$S" ] && echo TTY-SAME || echo TTY-CHANGED`, "Enter");

    const participantRow = /├─ participant\s+(\S+)\s+\S+\s+(\d+)\s/;
    const first = await eventually(async () => participantRow.exec(screen()) ?? undefined, "top to show the participant");
    expect(first[1]).toBe("running");
    const before = Number(first[2]);
    const shown = screen();
    expect(shown).toMatch(/^ployz top · dev · \d\d:\d\d:\d\d UTC · machines 1\/1 reachable, 1 storage/m);
    expect(shown).toContain(`■ ${machineId} (local, storage) — reachable`);
    for (const name of ["api", "inspector", "meshPeer"]) expect(shown).toMatch(new RegExp(`[├└]─ ${name}\\s+running`));
    expect(paneValue("#{alternate_on}")).toBe("1");

    await client.crash(machineId, "participant");
    const after = await eventually(async () => {
      const row = participantRow.exec(screen());
      return row && Number(row[2]) > before ? row : undefined;
    }, "the participant's restart count to go up");
    expect(Number(after[2])).toBe(before + 1);

    tmux("send-keys", "-t", "top", "q");
    const done = await eventually(async () => {
      const text = screen();
      return /^TTY-(SAME|CHANGED)\s*$/m.test(text) ? text : undefined;
    }, "top to exit and the shell to go on");
    const lines = done.split("\n").map((l) => l.trimEnd());
    expect(lines).toContain("BEFORE-TOP");
    expect(lines).toContain("AFTER-TOP:0");
    expect(lines).toContain("TTY-SAME");
    // The view was on the alternate screen: nothing of it is left on the shell's.
    expect(done).not.toContain("ployz top ·");
    expect(done).not.toContain("participant");
    expect(paneValue("#{alternate_on}")).toBe("0");
    expect(paneValue("#{pane_current_command}")).toBe("bash");
  });
});
