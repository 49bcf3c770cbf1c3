import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPaths } from "../../runtime/paths.ts";
import { eventually } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE } from "../harness/docker.ts";
import { cliJson as json, labTestSession } from "../harness/lab-cluster.ts";

/**
 * Deploys across three real lab machines in two regions (m1, m2 in `eu`; m3 in `us`), joined by
 * invites, each with its own ployzd, nats-server (m2 and m3 leaves of m1's store over the
 * overlay), dockerd, Caddy and cluster DNS on port 53 of its bridge. One lab for every case, in
 * order: they build on each other (the namespace `spread` deployed first is the one later cases
 * fetch from, forward, drain and partition).
 */

const HOST = "web.lab.test";

const lab = labTestSession({ regions: ["eu", "eu", "us"], run: ["--reconcile-interval-ms", "2000", "--drain-ms", "200"] });
const { home, machineOf, manifest, deployVia, instances, fetchFrom } = lab;
const cluster = () => lab.cluster();
/** The machine's gateway HTTP address (`http://127.0.0.1:PORT`, inside its namespace), as its ployzd wrote it. */
const gatewayOf = (id: string) => home(id).clientInfo()!.gateway!;

beforeAll(lab.setup, 300_000);
afterAll(lab.teardown, 120_000);

/** The namespace `spread`: `web` (3 replicas behind a route, each page saying its container) and `agent` (global, the client). */
function spreadSpec(version: string) {
  return {
    namespace: "spread",
    services: {
      web: {
        image: BUSYBOX_IMAGE,
        command: ["/bin/sh", "-c", `mkdir -p /www && echo "web-${version} $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www`],
        ports: [{ container: 8080 }],
        replicas: 3,
        readiness: { type: "http", port: 8080, path: "/" },
        resources: { memory: "16Mi" },
        routes: [{ hostnames: [HOST], port: 8080 }],
      },
      agent: { image: BUSYBOX_IMAGE, command: ["sleep", "86400"], mode: "global", resources: { memory: "8Mi" } },
    },
  };
}

async function gatewayGet(machine: string): Promise<{ code: number; body: string }> {
  const result = await machineOf(machine).commands.attempt(["curl", "-s", "-m", "3", "-o", "-", "-w", "\n%{http_code}", "-H", `Host: ${HOST}`, `${gatewayOf(machine)}/`]);
  const lines = result.stdout.trimEnd().split("\n");
  return { code: Number(lines.at(-1)), body: lines.slice(0, -1).join("\n") };
}

describe("deploys across three lab machines in two regions", () => {
  it("a: spreads 3 replicas over the three machines and runs a global service on each", async () => {
    const deployed = await deployVia("m1", manifest("spread-v1", spreadSpec("v1")));
    expect(deployed.code, deployed.stderr).toBe(0);
    const all = await instances("spread");
    const on = (service: string) => all.filter((i) => i.service === service).map((i) => i.machine).sort();
    expect(on("web")).toEqual(["m1", "m2", "m3"]);
    expect(on("agent")).toEqual(["m1", "m2", "m3"]);
    expect(all.every((i) => i.live.ok && i.live.state === "running")).toBe(true);
  }, 180_000);

  it("b: a container on one machine fetches HTTP from one on another by its cluster DNS name, over the overlay", async () => {
    const all = await instances("spread");
    const agents = all.filter((i) => i.service === "agent");
    const webs = all.filter((i) => i.service === "web");
    for (const agent of agents) {
      // The web instance on the next machine, by its instance name `<slot>.web.spread.ployz.internal`.
      const target = webs.find((w) => w.machine !== agent.machine)!;
      const name = `${target.slot}.web.spread.ployz.internal`;
      const page = await eventually(async () => {
        const result = await fetchFrom(agent.machine, agent.containerId, name, 8080);
        return result.code === 0 && result.output.includes("200 OK") ? result.output : undefined;
      }, `${agent.machine}'s agent to fetch ${name} on ${target.machine}`);
      expect(page).toContain(`web-v1 ${target.containerId.slice(0, 12)}`);
    }
    // And by the service name (the search domain is the namespace's), from m3 in the other region.
    const m3agent = agents.find((a) => a.machine === "m3")!;
    const byService = await fetchFrom("m3", m3agent.containerId, "web", 8080);
    expect(byService.output).toContain("web-v1");
  }, 120_000);

  it("c: every machine's gateway serves the route, with backends on every machine", async () => {
    const webs = (await instances("spread")).filter((i) => i.service === "web");
    const expected = new Set(webs.map((w) => w.containerId.slice(0, 12)));
    for (const machine of ["m1", "m2", "m3"]) {
      const seen = new Set<string>();
      await eventually(async () => {
        const reply = await gatewayGet(machine);
        if (reply.code === 200) seen.add(reply.body.trim().split(" ")[1]!);
        if (seen.size === expected.size) return true;
        throw new Error(`last answer ${reply.code}; backends seen so far: ${[...seen].join(", ") || "none"}`);
      }, `${machine}'s gateway to reach all three backends`);
      expect(seen).toEqual(expected);
    }
  }, 120_000);

  it("d: a deploy sent to a machine that is not the namespace's authority is carried out by the authority", async () => {
    // m1 received the first deploy of `spread`: it is the authority. Now m2 is asked.
    const before = json(await home("m1").cli("history", "-n", "spread", "--json"));
    expect(before.commits.at(-1).authority).toBe("m1");
    // Without --json: the progress says which machine's coordinator accepted it (the client follows that one).
    const deployed = await home("m2").cli("deploy", "-f", manifest("spread-v2", spreadSpec("v2")));
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout + deployed.stderr).toMatch(/of spread accepted by m1/);
    const commitSeq = Number(/commit (\d+)/.exec(deployed.stdout)?.[1]);
    const history = json(await home("m2").cli("history", "-n", "spread", "--json"));
    const head = history.commits.at(-1);
    expect(head.seq).toBe(commitSeq);
    expect(head.authority).toBe("m1");
    // A new namespace's authority is the machine that received its first deploy; later deploys go there.
    // solo runs on m1 (not on m2, which case f partitions; not on m3, which case e drains); its authority is m3.
    const soloSpec = (command: string) => ({ namespace: "solo", services: { one: { image: BUSYBOX_IMAGE, command: ["sleep", command], resources: { memory: "8Mi" }, placement: { machines: ["m1"] } } } });
    const solo = (command: string) => manifest(`solo-${command}`, soloSpec(command));
    const fresh = await deployVia("m3", solo("86400"));
    expect(fresh.code, fresh.stderr).toBe(0);
    const again = await deployVia("m1", solo("86401"));
    expect(again.code, again.stderr).toBe(0);
    const commits = json(await home("m1").cli("history", "-n", "solo", "--json")).commits as Array<{ authority: string }>;
    expect(commits.map((c) => c.authority)).toEqual(["m3", "m3"]);

    // An authority that does not answer fails the deploy at once, naming it; nothing is committed.
    await cluster().lab.partition(3);
    try {
      const started = Date.now();
      const cut = await deployVia("m1", solo("86402"));
      expect(cut.code).not.toBe(0);
      expect(cut.stdout + cut.stderr).toMatch(/its authority, machine m3, did not answer/);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await cluster().lab.heal(3);
    }
    expect(json(await home("m1").cli("history", "-n", "solo", "--json")).commits.length).toBe(2);
    await eventually(async () => {
      const all = await instances("spread");
      return all.every((i) => i.live.ok && i.live.state === "running") ? true : undefined;
    }, "m3 to answer again after heal", 60_000);
  }, 180_000);

  it("f: a partitioned machine holding an instance fails a deploy that needs it, naming it, and changes nothing; healed, the reconciler converges", async () => {
    const before = json(await home("m1").cli("history", "-n", "spread", "--json")).commits.at(-1).seq as number;
    const onM2 = (await instances("spread")).find((i) => i.service === "web" && i.machine === "m2")!;
    await cluster().lab.partition(2);
    try {
      const failed = await deployVia("m1", manifest("spread-v3", spreadSpec("v3")));
      expect(failed.code).not.toBe(0);
      expect(failed.stdout + failed.stderr).toMatch(/web#\d on m2: the machine is unreachable/);
      expect(json(await home("m1").cli("history", "-n", "spread", "--json")).commits.at(-1).seq).toBe(before);
      // m2 itself, cut off from the store and from the authority, refuses at once and says why.
      const started = Date.now();
      const fromCut = await deployVia("m2", manifest("spread-v3", spreadSpec("v3")));
      expect(fromCut.code).not.toBe(0);
      expect(json(fromCut).error).toMatchObject({ code: "store-unavailable", hint: expect.stringContaining("reach the machines that hold the store") });
      expect(Date.now() - started, "at once, not after the deploy timeout").toBeLessThan(30_000);
      // A deploy that does not need m2 goes on without it: solo (authority m3) has nothing there.
      const unaffected = await deployVia("m1", manifest("solo-partitioned", { namespace: "solo", services: { one: { image: BUSYBOX_IMAGE, command: ["sleep", "86403"], resources: { memory: "8Mi" }, placement: { machines: ["m1"] } } } }));
      expect(unaffected.code, unaffected.stdout + unaffected.stderr).toBe(0);
      expect((await instances("solo")).map((i) => i.machine)).not.toContain("m2");
      // Meanwhile m2's web instance stops, out of sight of m1 (its container event cannot cross the partition).
      await machineOf("m2").docker!.getContainer(onM2.containerId).stop({ t: 1 });
    } finally {
      await cluster().lab.heal(2);
    }
    // Healed: the authority's reconciler sees the dead instance and replaces it (a repair commit of m1's).
    const repaired = await eventually(async () => {
      const head = json(await home("m1").cli("history", "-n", "spread", "--json")).commits.at(-1);
      return head.seq > before ? head : undefined;
    }, "a repair commit after heal", 60_000);
    expect(repaired.authority).toBe("m1");
    expect(repaired.reason).toMatch(/repair|dead|exited|restart/i);
    await eventually(async () => {
      const all = await instances("spread");
      return all.length === 6 && all.every((i) => i.live.ok && i.live.state === "running") && !all.some((i) => i.containerId === onM2.containerId) ? true : undefined;
    }, "every instance of spread running again after heal", 60_000);
    await eventually(async () => ((await gatewayGet("m2")).code === 200 ? true : undefined), "m2's gateway to serve again");
    const again = await deployVia("m1", manifest("spread-v3", spreadSpec("v3")));
    expect(again.code, again.stderr).toBe(0);
  }, 240_000);

  it("e: region us set draining moves the instances off m3 into eu", async () => {
    const set = await home("m1").cli("region", "set", "us", "draining", "--json");
    expect(set.code, set.stderr).toBe(0);
    const all = await instances("spread");
    expect(all.filter((i) => i.machine === "m3")).toEqual([]);
    expect(all.filter((i) => i.service === "web").length).toBe(3);
    expect(new Set(all.filter((i) => i.service === "web").map((i) => i.machine))).toEqual(new Set(["m1", "m2"]));
    // Still served by every gateway, m3's included (its backends are in eu now).
    await eventually(async () => ((await gatewayGet("m3")).code === 200 ? true : undefined), "m3's gateway to serve from eu");
  }, 180_000);
});

describe("operating instances on other machines, through the machine the CLI talks to", () => {
  it("events shows each machine's join, recorded by the machine that invited it", async () => {
    const result = await home("m2").cli("events", "--json");
    expect(result.code, result.stderr).toBe(0);
    const joins = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { kind: string; machine?: string; message: string })
      .filter((e) => e.kind === "node" && e.message.startsWith("joined the cluster"));
    expect(joins.map((e) => e.machine).sort()).toEqual(["m2", "m3"]);
    expect(joins.every((e) => /^joined the cluster: invited by m1 \(invite [0-9a-f]+\), region (eu|us), subnet 10\.210\./.test(e.message)), JSON.stringify(joins)).toBe(true);
  }, 60_000);

  it("exec runs a command in an instance on another machine: its output and exit code come back", async () => {
    const remote = (await instances("spread")).find((i) => i.service === "web" && i.machine === "m2")!;
    expect(remote, "a web instance on m2 (after e, web runs on m1 and m2)").toBeDefined();
    const result = await home("m1").cli("exec", "-n", "spread", `web#${remote.slot}`, "--", "sh", "-c", "hostname; echo to-stderr >&2; exit 7");
    expect(result.code, result.stderr).toBe(7);
    expect(result.stdout.trim()).toBe(remote.containerId.slice(0, 12));
    expect(result.stderr).toContain("to-stderr");
  }, 60_000);

  it("logs merges the lines of instances on two machines, each line once, prefixed with slot and machine", async () => {
    const spec = {
      namespace: "chatty",
      services: {
        talk: { image: BUSYBOX_IMAGE, command: ["/bin/sh", "-c", "for i in $(seq 1 20); do echo line-$i; done; exec sleep 86400"], replicas: 2, resources: { memory: "8Mi" } },
      },
    };
    const deployed = await deployVia("m1", manifest("chatty", spec));
    expect(deployed.code, deployed.stderr).toBe(0);
    const talkers = await instances("chatty");
    const machines = talkers.map((i) => i.machine).sort();
    expect(machines, "the two replicas spread over two machines").toEqual(["m1", "m2"]);
    const out = await eventually(async () => {
      const result = await home("m1").cli("logs", "-n", "chatty", "talk");
      return result.code === 0 && (result.stdout.match(/line-/g) ?? []).length >= 40 ? result.stdout : undefined;
    }, "the 40 lines of both instances");
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(40);
    for (const talker of talkers) {
      const mine = lines.filter((l) => l.startsWith(`talk#${talker.slot}@${talker.machine} | `)).map((l) => l.split(" | ")[1]);
      expect(mine, `the lines of talk#${talker.slot} on ${talker.machine}`).toEqual(Array.from({ length: 20 }, (_, i) => `line-${i + 1}`));
    }
  }, 120_000);
});

describe("a forwarding machine that goes away", () => {
  it("fails the waiting client at once, naming the forwarder and the authority; the deploy goes on at the authority", async () => {
    // Namespace slow: authority m1 (its first deploy went there); v2's instance is ready only after 8 s.
    const slowSpec = (version: string, delay: number) => ({
      namespace: "slow",
      services: {
        page: {
          image: BUSYBOX_IMAGE,
          command: ["/bin/sh", "-c", `sleep ${delay}; mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 8080 -h /www`],
          readiness: { type: "http", port: 8080, path: "/", startPeriod: "30s" },
          resources: { memory: "8Mi" },
          placement: { machines: ["m1"] },
        },
      },
    });
    const first = await deployVia("m1", manifest("slow-v1", slowSpec("v1", 0)));
    expect(first.code, first.stderr).toBe(0);
    const headBefore = json(await home("m1").cli("history", "-n", "slow", "--json")).commits.at(-1).seq as number;
    const m1Log = join(home("m1").dataDir, "logs", "ployzd.log");
    const forwardedBefore = readFileSync(m1Log, "utf8").split("running an operation forwarded to this machine").length;

    const started = Date.now();
    const waiting = home("m2").cli("deploy", "-f", manifest("slow-v2", slowSpec("v2", 8)));
    await eventually(async () => (readFileSync(m1Log, "utf8").split("running an operation forwarded to this machine").length > forwardedBefore ? true : undefined), "m1 to run the deploy m2 forwarded");
    const m2Pid = Number(readFileSync(dataPaths(home("m2").dataDir).daemonPid, "utf8"));
    process.kill(m2Pid, "SIGKILL");
    try {
      const result = await waiting;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/machine m2, which forwarded deploy \S+ of namespace slow to its authority m1, stopped answering .* the deploy goes on at m1/);
      expect(Date.now() - started, "failed at once, not after the deploy timeout").toBeLessThan(60_000);
      // The authority finishes it: v2 is committed.
      await eventually(async () => (json(await home("m1").cli("history", "-n", "slow", "--json")).commits.at(-1).seq > headBefore ? true : undefined), "m1 to commit v2", 60_000);
    } finally {
      await home("m2").start([]);
    }
  }, 180_000);
});
