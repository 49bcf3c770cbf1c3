import { randomBytes } from "node:crypto";

/**
 * Every name a lab gives (network namespaces, interfaces, the bridge) starts with `plz` and the
 * lab's id (6 hex digits), so several labs run side by side and a sweep finds a dead lab's
 * leftovers by name. Interface names stay within Linux's 15 characters.
 */
export const LAB_PREFIX = "plz";

/** `plz` + lab id + what it is (`br`, `v<n>`, `w<n>`, `m<n>`). */
export const LAB_NAME_PATTERN = /^plz([0-9a-f]{6})(br|[vwm][0-9]{1,3})$/;

/** Where labs keep their state and their machines' files, unless PLOYZ_LAB_ROOT says otherwise. */
export function labRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.PLOYZ_LAB_ROOT ?? "/tmp/ployz-lab";
}

export function newLabId(): string {
  return randomBytes(3).toString("hex");
}

/** The names of one lab. */
export function labNames(id: string) {
  const base = `${LAB_PREFIX}${id}`;
  return {
    bridge: `${base}br`,
    /** The network namespace of machine n (1-based). */
    namespace: (n: number) => `${base}m${n}`,
    /** The host side of machine n's underlay veth. */
    hostVeth: (n: number) => `${base}v${n}`,
    /** Machine n's WireGuard interface: unique on the computer (wireguard-go's socket is named after it). */
    wireguard: (n: number) => `${base}w${n}`,
  };
}

/** The lab id a lab-made name carries, or undefined for any other name. */
export function labIdOf(name: string): string | undefined {
  return LAB_NAME_PATTERN.exec(name)?.[1];
}
