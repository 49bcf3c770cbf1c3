import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { commandsVia, localCommands, type Commands } from "../../actors/host/commands.ts";
import { deleteWireGuardInterface, wireGuardGoPids, wireGuardSocket, WIREGUARD_SOCKET_DIR } from "../../actors/mesh/wireguard-interface.ts";
import { CommandFailedError } from "../../model/errors.ts";
import { stopPid } from "../process.ts";
import { labContainerIds } from "./lab-dockerd.ts";
import { labIdOf } from "./lab-names.ts";
import { isRunning, pidsInContainers, pidsMentioning, stopLabProcess } from "./lab-processes.ts";
import { labDirs, readLabState, type LabState } from "./lab-state.ts";

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
  for (const pid of [...pidsMentioning(dir), ...pidsInContainers(containers)]) await attempt(`process ${pid} of the lab`, () => stopPid(pid, 2_000));

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
  if (failures.length > 0) {
    throw new CommandFailedError(`lab ${id} was not wholly removed: ${failures.join("; ")}`, { hint: `run the lab sweep again, or remove by hand what ip netns / ip link / ps show for plz${id}` });
  }
}

/**
 * Destroys every lab under `root` whose owner process is gone (a test that crashed or was
 * killed), and whatever a lab left by name without a directory. Returns the ids destroyed.
 * Labs without an owner (dev labs) are left alone.
 */
export async function sweepLabs(root: string): Promise<string[]> {
  const swept: string[] = [];
  const known = new Set<string>();
  for (const dir of labDirs(root)) {
    const state = readLabState(dir);
    known.add(basename(dir));
    if (state?.owner === null) continue;
    if (state?.owner && isRunning(state.owner)) continue;
    await destroyLab(dir);
    swept.push(basename(dir));
  }
  // Names of labs with no directory at all: a lab killed between naming and writing its state.
  const orphanIds = new Set([...listNamespaces(), ...listWireGuardSockets()].flatMap((name) => labIdOf(name) ?? []).filter((id) => !known.has(id)));
  for (const id of orphanIds) {
    await destroyLab(`${root}/${id}`);
    swept.push(id);
  }
  return swept;
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
