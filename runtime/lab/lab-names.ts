import { randomBytes } from "node:crypto";

/**
 * Every name a lab gives (network namespaces, interfaces, the bridge) starts with `plz` and the
 * lab's id (6 hex digits), so several labs run side by side and a sweep finds a dead lab's
 * leftovers by name. Interface names stay within Linux's 15 characters.
 */
export const LAB_PREFIX = "plz";

/** `plz` + lab id + what it is (`u`, `br`, `v<n>`, `w<n>`, `m<n>`). */
export const LAB_NAME_PATTERN = /^plz([0-9a-f]{6})(u|br|[vwm][0-9]{1,3})$/;

/**
 * Each lab's underlay is a /24 on a bridge inside the lab's own namespace, so it never meets the
 * host's routes or another lab's underlay: every lab uses the same one. Machine n is `.10+n`.
 */
export const LAB_UNDERLAY = "10.213.0.0/24";

/** The interface inside each machine's namespace that plugs it into the underlay. */
export const LAB_UNDERLAY_IFACE = "ul0";

/** Where labs keep their state and their machines' files, unless PLOYZ_LAB_ROOT says otherwise. */
export function labRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.PLOYZ_LAB_ROOT ?? "/tmp/ployz-lab";
}

/**
 * One file per lab on this computer (`<id>` holding the lab's directory), whatever root the lab
 * lives under: written before the lab makes anything, removed last, so a sweep finds every lab
 * and tells a dead lab's leftovers (no entry) from a live lab elsewhere.
 */
export const LAB_REGISTRY_DIR = "/run/ployz-lab";

export function newLabId(): string {
  return randomBytes(3).toString("hex");
}

/** The names of one lab. */
export function labNames(id: string) {
  const base = `${LAB_PREFIX}${id}`;
  return {
    /** The namespace that holds the underlay bridge and the machines' underlay veths. */
    underlayNamespace: `${base}u`,
    bridge: `${base}br`,
    /** The network namespace of machine n (1-based). */
    namespace: (n: number) => `${base}m${n}`,
    /** The underlay side of machine n's veth (in the underlay namespace, on the bridge). */
    hostVeth: (n: number) => `${base}v${n}`,
    /** Machine n's WireGuard interface: unique on the computer (wireguard-go's socket is named after it). */
    wireguard: (n: number) => `${base}w${n}`,
    /** Machine n's underlay address (in LAB_UNDERLAY). */
    underlayIp: (n: number) => `10.213.0.${10 + n}`,
    /** Machine n's workload subnet, which its dockerd's bridge uses. */
    subnet: (n: number) => `10.210.${n}.0/24`,
  };
}

/** The lab id a lab-made name carries, or undefined for any other name. */
export function labIdOf(name: string): string | undefined {
  return LAB_NAME_PATTERN.exec(name)?.[1];
}
