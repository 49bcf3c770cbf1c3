import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeInterfaceAddress } from "../../actors/dns/bridge-address.ts";
import { containerDns } from "../../actors/dns/container-resolver.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { createTestHome, eventually, stopEverything, type TestHome } from "../harness/daemon.ts";
import { dig } from "../harness/dns.ts";

/**
 * A machine whose dockerd is down at the first start: ployzd runs in a network namespace of its
 * own (no Docker bridge there, DOCKER_HOST pointing nowhere), so its DNS starts on loopback. Then
 * a `docker0` appears in that namespace, as when dockerd starts: the DNS must listen there too,
 * and the next start must put it there — not keep 127.0.0.1 for good. All traffic stays inside
 * the namespace this test creates and deletes.
 */

const PLOYZD = fileURLToPath(new URL("../../bin/ployzd.js", import.meta.url));
const run = randomBytes(3).toString("hex");
const NETNS = `ployz-dns-${run}`;
const BRIDGE = `10.213.${Number.parseInt(run.slice(0, 2), 16)}.1`;

let home: TestHome;
const inNetns = (...command: string[]) => execFileSync("ip", ["netns", "exec", NETNS, ...command], { encoding: "utf8" });

/** `ployzd run` inside the namespace, as `dev up` would start it; resolves once it is ready. */
async function startInNetns(): Promise<{ pid: number; dns: string }> {
  const paths = dataPaths(home.dataDir);
  rmSync(paths.clientInfo, { force: true });
  mkdirSync(paths.logsDir, { recursive: true });
  const out = openSync(paths.daemonOut, "a");
  const child = spawn("nsenter", [`--net=/var/run/netns/${NETNS}`, process.execPath, PLOYZD, "run", "--data-dir", home.dataDir, "--dns-port", "0"], {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...home.env, DOCKER_HOST: `unix://${home.root}/no-dockerd.sock` },
  });
  closeSync(out);
  child.unref();
  let exited = false;
  child.once("exit", () => (exited = true));
  return await eventually(async () => {
    if (exited) throw new Error(`ployzd exited: ${readFileSync(paths.daemonOut, "utf8").slice(-2_000)}`);
    return existsSync(paths.clientInfo) ? (JSON.parse(readFileSync(paths.clientInfo, "utf8")) as { pid: number; dns: string }) : undefined;
  }, "ployzd to be ready in the namespace");
}

const savedDns = () => (JSON.parse(readFileSync(dataPaths(home.dataDir).machine, "utf8")) as { dns: { host: string; port: number } }).dns;
const daemonLog = () => readFileSync(dataPaths(home.dataDir).daemonLog, "utf8");

beforeAll(() => {
  execFileSync("ip", ["netns", "add", NETNS]);
  execFileSync("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
  home = createTestHome();
});
afterAll(async () => {
  await stopEverything(home.dataDir).catch(() => undefined);
  await home?.dispose();
  execFileSync("ip", ["netns", "del", NETNS]);
}, 60_000);

describe("the cluster DNS when dockerd is down at the first start", () => {
  it("listens on loopback, then on the bridge once it appears, and starts on the bridge next time", async () => {
    const first = await startInNetns();
    expect(savedDns().host).toBe("127.0.0.1");
    const port = savedDns().port;
    expect(first.dns).toBe(`127.0.0.1:${port}`);
    expect(daemonLog()).toContain("no Docker bridge: the cluster DNS listens on loopback until the bridge appears");
    expect((await dig("127.0.0.1", port, "nosuch.ployz.internal", "A", [], { netns: NETNS })).status).toBe("NXDOMAIN");

    // dockerd starts: its bridge appears
    inNetns("ip", "link", "add", "docker0", "type", "bridge");
    inNetns("ip", "addr", "add", `${BRIDGE}/24`, "dev", "docker0");
    inNetns("ip", "link", "set", "docker0", "up");
    const onBridge = await eventually(async () => {
      const reply = await dig(BRIDGE, port, "nosuch.ployz.internal", "A", ["+tcp"], { netns: NETNS }).catch(() => undefined);
      return reply?.status === "NXDOMAIN" ? reply : undefined;
    }, "the DNS to listen on the bridge");
    expect(onBridge.status).toBe("NXDOMAIN");
    expect((await dig(BRIDGE, port, "nosuch.ployz.internal", "A", [], { netns: NETNS })).status).toBe("NXDOMAIN");
    expect(daemonLog()).toContain("the Docker bridge appeared");
    // still on loopback too: Caddy and client.json were given that address
    expect((await dig("127.0.0.1", port, "nosuch.ployz.internal", "A", [], { netns: NETNS })).status).toBe("NXDOMAIN");

    await stopEverything(home.dataDir);
    const second = await startInNetns();
    expect(savedDns()).toEqual({ host: BRIDGE, port });
    expect(second.dns).toBe(`${BRIDGE}:${port}`);
    expect(daemonLog()).toContain(`the cluster DNS moves: the Docker bridge is at ${BRIDGE} now (was 127.0.0.1)`);
    expect((await dig(BRIDGE, port, "nosuch.ployz.internal", "A", [], { netns: NETNS })).status).toBe("NXDOMAIN");
  }, 120_000);
});

describe("the resolver a container is given, on this host", () => {
  it("is docker0's address now when the DNS is on port 53, even if ployzd started on loopback; none on another port", () => {
    const docker0 = bridgeInterfaceAddress();
    expect(docker0, "this host runs dockerd, so it has docker0").toBeDefined();
    expect(containerDns({ host: "127.0.0.1", port: 53 })).toEqual({ server: docker0 });
    expect(containerDns({ host: docker0!, port: 53 })).toEqual({ server: docker0 });
    expect(containerDns({ host: docker0!, port: 5353 })).toBeUndefined();
  });
});
