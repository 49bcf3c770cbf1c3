import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { commandsVia, localCommands, type Commands } from "../../actors/host/commands.ts";
import { deleteWireGuardInterface, wireGuardGoPids, wireGuardSocket, WIREGUARD_SOCKET_DIR } from "../../actors/mesh/wireguard-interface.ts";
import { CommandFailedError } from "../../model/errors.ts";
import { stopPid } from "../process.ts";
import { labContainerIds } from "./lab-dockerd.ts";
import { LAB_REGISTRY_DIR, labIdOf, labRoot } from "./lab-names.ts";
import { registeredLabs, unregisterLab } from "./lab-registry.ts";
import { isRunning, labProcess, pidsInContainers, pidsMentioning, stopLabProcess } from "./lab-processes.ts";
import { labDirs, labProcessSchema, readLabState } from "./lab-state.ts";

/**
 * Removes everything a lab made, from its state file and by its names, so it works after the
 * owner was killed half-way: its processes (dockerd first, gracefully; then wireguard-go, any
 * containerd or shim still running from the lab's directory, any container process), its
 * WireGuard interfaces and their sockets, its network namespaces (which takes the veths and the
 * bridge with them), the mounts under its directory, and the directory. Every step is tried;
 * the failures are reported together at the end.
 */
export async function destroyLab(dir: string, commands: Commands = localCommands()): Promise<void> {
  const state = readLabState(dir);
  const id = state?.id ?? basename(dir);
  const failures: string[] = [];
  const attempt = async (what: string, step: () => Promise<void> | void) => {
    try {
      await step();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const wireguards = new Set([...(state?.machines.map((m) => m.wireguard) ?? []), ...labWireGuardNames(id)]);

  // Processes: dockerd stops its containers itself when asked; the rest only by force.
  const recorded = state?.processes ?? [];
  await Promise.all(recorded.map((p) => attempt(`stopping ${p.what} (pid ${p.pid})`, () => stopLabProcess(p, 15_000))));
  for (const machine of state?.machines ?? []) {
    await attempt(`interface ${machine.wireguard}`, async () => {
      if (namespaceExists(machine.namespace)) await deleteWireGuardInterface(labCommands(machine.namespace), machine.wireguard);
    });
  }
  for (const name of wireguards) for (const pid of wireGuardGoPids(name)) await attempt(`wireguard-go ${name} (pid ${pid})`, () => stopPid(pid, 2_000));
  const containers = (state?.machines ?? []).flatMap((m) => labContainerIds(m.dir));
  // Again until none is left: a ployzd stopped after its DNS process (a higher pid, e.g. after a restart) may have started that child again.
  for (let round = 0; round < 5; round++) {
    const pids = [...pidsMentioning(dir), ...(round === 0 ? pidsInContainers(containers) : [])];
    if (pids.length === 0) break;
    for (const pid of pids) await attempt(`process ${pid} of the lab`, () => stopPid(pid, 2_000));
  }
  for (const pid of pidsMentioning(dir)) failures.push(`process ${pid} of the lab kept coming back`);

  // Namespaces: deleting one deletes the interfaces in it (veths, bridge, TUN devices).
  const namespaces = new Set([...(state?.namespaces ?? []), ...listNamespaces().filter((ns) => labIdOf(ns) === id)]);
  for (const ns of namespaces) {
    await attempt(`namespace ${ns}`, async () => {
      if (namespaceExists(ns)) await commands.run(["ip", "netns", "del", ns]);
    });
  }
  for (const name of wireguards) await attempt(`socket of ${name}`, () => rmSync(wireGuardSocket(name), { force: true }));
  await attempt("mounts", async () => {
    for (const mount of mountsUnder(dir)) await commands.run(["umount", "-l", mount]);
  });
  if (failures.length === 0) await attempt("directory", () => rmSync(dir, { recursive: true, force: true }));
  if (failures.length === 0) unregisterLab(id);
  if (failures.length > 0) {
    throw new CommandFailedError(`lab ${id} was not wholly removed: ${failures.join("; ")}`, { hint: `run the lab sweep again, or remove by hand what ip netns / ip link / ps show for plz${id}` });
  }
}

/**
 * Destroys every lab whose owner process is gone (a test that crashed or was killed): the
 * registered ones wherever they live, those under `root` (default labRoot()), and whatever a lab
 * left by name with no registration at all. Labs without an owner (dev labs) are left alone.
 * Returns the ids destroyed.
 */
export async function sweepLabs(root: string = labRoot()): Promise<string[]> {
  const swept: string[] = [];
  const dirs = new Map<string, string>(labDirs(root).map((dir) => [basename(dir), dir]));
  for (const { id, dir } of registeredLabs()) dirs.set(id, dir);
  for (const [id, dir] of dirs) {
    const state = readLabState(dir);
    if (state?.owner === null) continue;
    if (state?.owner && isRunning(state.owner)) continue;
    if (!claimTeardown(id)) continue; // another sweep is removing it right now
    try {
      await destroyLab(dir);
    } finally {
      rmSync(teardownClaim(id), { force: true });
    }
    swept.push(id);
  }
  // Names of a lab that is registered nowhere: its directory and registration were removed by hand.
  const orphanIds = new Set([...listNamespaces(), ...listWireGuardSockets()].flatMap((name) => labIdOf(name) ?? []).filter((id) => !dirs.has(id)));
  for (const id of orphanIds) {
    await destroyLab(join(root, id));
    swept.push(id);
  }
  return swept;
}

const teardownClaim = (id: string) => join(LAB_REGISTRY_DIR, `${id}.teardown`);

/** Claims the removal of a dead lab for this process: false while a live process holds the claim. */
function claimTeardown(id: string): boolean {
  mkdirSync(LAB_REGISTRY_DIR, { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      writeFileSync(teardownClaim(id), JSON.stringify(labProcess(process.pid, "lab sweep")), { flag: "wx", mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = labProcessSchema.safeParse(JSON.parse(readFileSync(teardownClaim(id), "utf8")));
    if (holder.success && isRunning(holder.data)) return false;
    rmSync(teardownClaim(id), { force: true }); // its sweeper died: take over
  }
}

/** Network namespaces that `ip netns` knows (their files under /run/netns). */
export function listNamespaces(): string[] {
  try {
    return readdirSync("/run/netns");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export function namespaceExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

/** Commands run inside a lab namespace (`nsenter --net`, never `ip netns exec`, which remounts /sys). */
export function labCommands(namespace: string, where = `lab namespace ${namespace}`): Commands {
  return commandsVia(["nsenter", `--net=/run/netns/${namespace}`], where);
}

function listWireGuardSockets(): string[] {
  try {
    return readdirSync(WIREGUARD_SOCKET_DIR).filter((f) => f.endsWith(".sock")).map((f) => f.slice(0, -".sock".length));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** WireGuard names of this lab still seen as a socket or a wireguard-go process. */
function labWireGuardNames(id: string): string[] {
  return listWireGuardSockets().filter((name) => labIdOf(name) === id);
}

/** Mount points under `dir`, deepest first (overlay mounts a killed dockerd left). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .map((field) => field.replace(/\\040/g, " "))
    .filter((mount) => mount.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
