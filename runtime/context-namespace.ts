import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { constants } from "node:os";
import { NetworkNamespaceError } from "../model/errors.ts";
import type { Context } from "./context.ts";

/** Where `ip netns` keeps named network namespaces. */
const NETNS_DIR = "/run/netns";

/** True when this process already runs in network namespace `netns`. */
export function inNetworkNamespace(netns: string): boolean {
  return statSync("/proc/self/ns/net").ino === statSync(`${NETNS_DIR}/${netns}`).ino;
}

/**
 * A lab machine's NATS listens on the loopback of its own network namespace, which the host
 * cannot reach (and must not: NATS never listens on 0.0.0.0). For a context that names such a
 * namespace, this runs the same command again inside it (`nsenter --net`, which needs root) and
 * returns its exit status; undefined when the context names none or this process is already in
 * it, and the command goes on here.
 */
export function runInContextNamespace(context: Context, argv: readonly string[] = process.argv): number | undefined {
  const { netns } = context;
  if (netns === undefined) return undefined;
  if (!existsSync(`${NETNS_DIR}/${netns}`)) {
    throw new NetworkNamespaceError(`context ${context.name} is a lab machine in network namespace ${netns}, which does not exist any more`, {
      hint: "the lab is gone: `ployzctl dev down` removes its contexts, `ployzctl dev up --machines N` makes a new one",
    });
  }
  if (inNetworkNamespace(netns)) return undefined;
  if (process.getuid?.() !== 0) {
    throw new NetworkNamespaceError(`context ${context.name} is a lab machine in network namespace ${netns}, and only root can enter it`, {
      hint: `run as root (sudo ployzctl …), or by hand: sudo nsenter --net=${NETNS_DIR}/${netns} ployzctl --context ${context.name} …`,
    });
  }
  const [node, script, ...args] = argv;
  const result = spawnSync("nsenter", [`--net=${NETNS_DIR}/${netns}`, node!, ...process.execArgv, script!, ...args], { stdio: "inherit" });
  if (result.error) throw new NetworkNamespaceError(`could not run nsenter for network namespace ${netns}: ${result.error.message}`, { cause: result.error });
  return result.status ?? 128 + (result.signal ? constants.signals[result.signal] : 0);
}
