import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { wireGuardGoPids, wireGuardSocket } from "../../actors/mesh/wireguard-interface.ts";
import { listNamespaces, sweepLabs } from "../../runtime/lab/index.ts";
import { LAB_REGISTRY_DIR } from "../../runtime/lab/lab-names.ts";
import { isAlive } from "../../runtime/process.ts";
import { eventually } from "../harness/daemon.ts";
import { processesMentioning } from "../harness/lab-mesh.ts";

/** A lab whose owner is killed with SIGKILL leaves things behind; the sweep removes all of it. */

const SCRIPT = fileURLToPath(new URL("../harness/lab-process.ts", import.meta.url));
let owner: ReturnType<typeof spawn> | undefined;

afterAll(async () => {
  if (owner?.pid !== undefined && isAlive(owner.pid)) owner.kill("SIGKILL");
  await sweepLabs();
}, 60_000);


describe("a lab whose owner was killed", () => {
  it("is removed wholly by the sweep: dockerds and their containerd, wireguard-go, namespaces, sockets, mounts, directory", async () => {
    owner = spawn(process.execPath, ["--import", "tsx", SCRIPT], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, PLOYZ_LAB_MACHINES: "2" } });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: owner!.stdout! }).once("line", resolve);
      owner!.once("exit", (code) => reject(new Error(`the lab owner exited (${code}) before its lab was up`)));
    });
    const lab = JSON.parse(line) as { id: string; dir: string; wireguards: string[]; namespaces: string[] };
    const labProcesses = () => processesMentioning(lab.dir);
    expect(labProcesses().length).toBeGreaterThanOrEqual(2); // a dockerd per machine (and their containerd)
    expect(lab.wireguards.every((name) => wireGuardGoPids(name).length === 1)).toBe(true);

    owner.kill("SIGKILL");
    await new Promise((resolve) => owner!.once("exit", resolve));
    // Everything it made is still there…
    expect(listNamespaces().filter((ns) => ns.includes(lab.id)).length).toBe(3);
    expect(existsSync(`${LAB_REGISTRY_DIR}/${lab.id}`)).toBe(true);

    // …until the sweep (this one, or another test file's that got there first).
    await sweepLabs();
    await eventually(async () => (existsSync(`${LAB_REGISTRY_DIR}/${lab.id}`) ? undefined : true), "the sweep to finish", 30_000);
    expect(listNamespaces().filter((ns) => ns.includes(lab.id))).toEqual([]);
    expect(readdirSync("/sys/class/net").filter((l) => l.includes(lab.id))).toEqual([]);
    for (const name of lab.wireguards) {
      expect(wireGuardGoPids(name)).toEqual([]);
      expect(existsSync(wireGuardSocket(name))).toBe(false);
    }
    expect(labProcesses()).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(lab.dir);
    expect(existsSync(lab.dir)).toBe(false);
    expect(existsSync(`${LAB_REGISTRY_DIR}/${lab.id}`)).toBe(false);
  }, 90_000);
});
