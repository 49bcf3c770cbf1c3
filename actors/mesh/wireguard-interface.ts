import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { CommandFailedError, ConfigError, InvalidArgumentError } from "../../model/errors.ts";
import { overlayAddress } from "../../model/overlay-address.ts";
import type { MeshInterface } from "../../machines/mesh-peer.ts";
import type { Commands } from "../host/commands.ts";
import { isAlive } from "../host/process-alive.ts";

/** Where wireguard-go puts its control sockets: one path for every network namespace. */
export const WIREGUARD_SOCKET_DIR = "/var/run/wireguard";

/** This machine's WireGuard interface as ployzd (or the lab) configures it. */
export interface WireGuardConfig {
  /** Interface name (≤ 15 characters), unique on the computer: wireguard-go's socket is named after it. */
  name: string;
  /** The private key, as `wg genkey` writes it, in a file of mode 0600. */
  privateKeyFile: string;
  listenPort: number;
  /**
   * This machine's workload gateway (its Docker bridge address, `10.210.3.1`), held by the
   * interface too as a /32, so traffic this machine itself sends to a peer's containers has a
   * source address the peer accepts (its AllowedIPs for us are our overlay /128 and our subnet).
   */
  workloadAddress?: string;
  /** wireguard-go's output, when it is the implementation. */
  logFile: string;
}

/** The control socket of a wireguard-go interface. */
export function wireGuardSocket(name: string): string {
  return `${WIREGUARD_SOCKET_DIR}/${name}.sock`;
}

/** Refuses a name Linux would refuse, or that could leave the socket directory. */
export function assertInterfaceName(name: string): void {
  if (!/^[A-Za-z0-9_.+=-]{1,15}$/.test(name) || name === "." || name === "..") {
    throw new InvalidArgumentError(`${JSON.stringify(name)} is not a usable interface name (1–15 of A–Z a–z 0–9 _ . + = -)`);
  }
}

/**
 * Creates this machine's WireGuard interface, or adopts the one an earlier ployzd left (it keeps
 * carrying traffic through a restart), and configures it: private key, listen port, the overlay
 * address derived from the key (/128), the workload address (/32), up. Kernel WireGuard when the
 * kernel has it (`ip link add … type wireguard` succeeds), else wireguard-go, started detached so
 * it outlives ployzd; which one is in the result, and the log says it.
 */
export async function ensureWireGuardInterface(commands: Commands, config: WireGuardConfig): Promise<MeshInterface> {
  assertInterfaceName(config.name);
  assertPrivateKeyFile(config.privateKeyFile);
  let implementation = await adoptable(commands, config.name);
  if (implementation === undefined) implementation = await createInterface(commands, config);
  await commands.run(["wg", "set", config.name, "private-key", config.privateKeyFile, "listen-port", String(config.listenPort)]);
  const publicKey = (await commands.run(["wg", "show", config.name, "public-key"])).trim();
  const overlayIp = overlayAddress(publicKey);
  await setAddresses(commands, config.name, [`${overlayIp}/128`, ...(config.workloadAddress ? [`${config.workloadAddress}/32`] : [])]);
  await commands.run(["ip", "link", "set", "dev", config.name, "up"]);
  return { name: config.name, implementation, publicKey, overlayIp, listenPort: config.listenPort };
}

/** The implementation of an interface of that name that answers `wg`, or undefined (a broken one is deleted). */
async function adoptable(commands: Commands, name: string): Promise<MeshInterface["implementation"] | undefined> {
  const link = await commands.attempt(["ip", "-d", "-j", "link", "show", "dev", name]);
  if (link.code !== 0) {
    // No interface: a socket left by a wireguard-go that died would make the next one fail.
    removeStaleSocket(name);
    return undefined;
  }
  const kind = (JSON.parse(link.stdout) as Array<{ linkinfo?: { info_kind?: string } }>)[0]?.linkinfo?.info_kind;
  const answers = (await commands.attempt(["wg", "show", name, "public-key"])).code === 0;
  if (answers && kind === "wireguard") return "kernel";
  if (answers && kind === "tun" && existsSync(wireGuardSocket(name))) return "wireguard-go";
  if (kind !== "wireguard" && kind !== "tun") {
    throw new CommandFailedError(`interface ${name} on ${commands.where} exists and is not WireGuard (${kind ?? "unknown kind"})`, {
      hint: "choose another interface name, or delete that interface",
    });
  }
  await deleteWireGuardInterface(commands, name); // ours by name, but deaf: start afresh
  return undefined;
}

async function createInterface(commands: Commands, config: WireGuardConfig): Promise<MeshInterface["implementation"]> {
  const kernel = await commands.attempt(["ip", "link", "add", "dev", config.name, "type", "wireguard"]);
  if (kernel.code === 0) return "kernel";
  if (!/unknown device type|not supported|no such device/i.test(kernel.stderr)) {
    throw new CommandFailedError(`cannot create WireGuard interface ${config.name} on ${commands.where}: ${kernel.stderr.trim()}`);
  }
  // The kernel has no WireGuard: wireguard-go makes a TUN device and serves `wg` on its socket.
  removeStaleSocket(config.name);
  const pid = await commands.spawnDetached(["wireguard-go", "-f", config.name], { logFile: config.logFile, env: { WG_PROCESS_FOREGROUND: "1" } });
  const deadline = Date.now() + 10_000;
  while (!(existsSync(wireGuardSocket(config.name)) && (await commands.attempt(["ip", "link", "show", "dev", config.name])).code === 0)) {
    if (!isAlive(pid)) throw new CommandFailedError(`wireguard-go ${config.name} on ${commands.where} exited at start: ${tail(config.logFile)}`, { hint: `see ${config.logFile}` });
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      throw new CommandFailedError(`wireguard-go ${config.name} on ${commands.where} did not create its interface within 10 s`, { hint: `see ${config.logFile}` });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return "wireguard-go";
}

/** The interface holds exactly these addresses (and its link-local one). */
async function setAddresses(commands: Commands, name: string, wanted: string[]): Promise<void> {
  const shown = JSON.parse(await commands.run(["ip", "-j", "addr", "show", "dev", name])) as Array<{ addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> }>;
  const present = (shown[0]?.addr_info ?? []).filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
  for (const address of present.filter((a) => !wanted.includes(a))) await commands.run(["ip", "addr", "del", address, "dev", name]);
  for (const address of wanted.filter((a) => !present.includes(a))) await commands.run(["ip", "addr", "add", address, "dev", name]);
}

/**
 * Deletes the interface (wireguard-go notices and exits, removing its socket); a wireguard-go
 * that outlives it is killed and its socket removed. Nothing to do if it does not exist.
 */
export async function deleteWireGuardInterface(commands: Commands, name: string): Promise<void> {
  assertInterfaceName(name);
  const gone = await commands.attempt(["ip", "link", "del", "dev", name]);
  if (gone.code !== 0 && !/cannot find device|does not exist/i.test(gone.stderr)) {
    throw new CommandFailedError(`cannot delete interface ${name} on ${commands.where}: ${gone.stderr.trim()}`);
  }
  const deadline = Date.now() + 3_000;
  while (existsSync(wireGuardSocket(name)) && wireGuardGoPids(name).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  for (const pid of wireGuardGoPids(name)) process.kill(pid, "SIGKILL");
  rmSync(wireGuardSocket(name), { force: true });
}

/** Live wireguard-go processes serving interface `name` (their command line is `wireguard-go -f NAME`). */
export function wireGuardGoPids(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch (error) {
      if (["ENOENT", "ESRCH"].includes((error as NodeJS.ErrnoException).code ?? "")) continue; // exited meanwhile
      throw error;
    }
    if (cmdline[0]?.endsWith("wireguard-go") && cmdline.slice(1).includes(name) && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** A socket with no wireguard-go behind it. */
function removeStaleSocket(name: string): void {
  if (existsSync(wireGuardSocket(name)) && wireGuardGoPids(name).length === 0) rmSync(wireGuardSocket(name), { force: true });
}

function assertPrivateKeyFile(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    throw new ConfigError(`cannot read the WireGuard private key ${file}: ${(error as Error).message}`, { hint: "create it with `wg genkey` in a file of mode 0600", cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`the WireGuard private key ${file} is readable by others (mode ${(mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file}` });
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ") || "no output";
  } catch (error) {
    return `(its log ${file} cannot be read: ${(error as Error).message})`;
  }
}
