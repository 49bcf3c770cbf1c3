import { z } from "zod";
import { compareText } from "./compare.ts";
import { hostPathSchema, isWithin } from "./host-path.ts";
import type { NamespaceSpec } from "./manifest.ts";

/**
 * Which host paths a namespace may bind-mount. A bind is root on every machine that runs it, so
 * none is allowed until an operator allows a directory for the namespace (`ployzctl namespace
 * allow-bind NS DIR`, kept in KV `policy`, key `binds.<ns>`), or the cluster's defaults hold it.
 * Some paths are refused always, allowed or not: the machine's own configuration, kernel
 * interfaces, devices, programs, Docker's socket and storage, the Ployz data directory — and a
 * path that holds one of them (`/`, `/var`). Judged on the text at planning (and `--preview`),
 * and again on the real path (symlinks followed) by the machine that starts the container.
 */

/** A host path no bind may name, lie under or hold, and why. */
export interface RefusedHostPath {
  path: string;
  why: string;
}

/** Refused on every machine. `/` is refused too: it holds all of them. */
export const ALWAYS_REFUSED_HOST_PATHS: readonly RefusedHostPath[] = [
  { path: "/etc", why: "the machine's configuration" },
  { path: "/proc", why: "the kernel's view of every process" },
  { path: "/sys", why: "the kernel's devices and settings" },
  { path: "/dev", why: "the machine's devices" },
  { path: "/boot", why: "the kernel and boot loader" },
  { path: "/root", why: "root's home" },
  { path: "/run", why: "runtime state, with the Docker socket" },
  { path: "/var/run", why: "runtime state, with the Docker socket" },
  { path: "/var/lib/docker", why: "Docker's storage" },
  { path: "/var/lib/containerd", why: "containerd's storage" },
  { path: "/usr", why: "the machine's programs" },
  { path: "/bin", why: "the machine's programs" },
  { path: "/sbin", why: "the machine's programs" },
  { path: "/lib", why: "the machine's libraries" },
  { path: "/lib32", why: "the machine's libraries" },
  { path: "/lib64", why: "the machine's libraries" },
  { path: "/libx32", why: "the machine's libraries" },
];

/**
 * Directories every namespace may bind from without an allow-bind: none. A default would be a
 * directory shared by every namespace (and so a way from one into another); an operator allows
 * each namespace its own instead.
 */
export const DEFAULT_ALLOWED_BIND_DIRS: readonly string[] = [];

/** What a machine judges host paths by: the paths it refuses and the cluster's default allowed directories. */
export interface HostPathRules {
  refused: readonly RefusedHostPath[];
  defaults: readonly string[];
}

/** The rules of a machine whose own data directory and Docker socket are `own` (besides the fixed list). */
export function hostPathRules(own: readonly RefusedHostPath[] = []): HostPathRules {
  return { refused: [...ALWAYS_REFUSED_HOST_PATHS, ...own], defaults: DEFAULT_ALLOWED_BIND_DIRS };
}

/** How a path meets a refused one: it is it, lies under it, or holds it. */
export interface Refusal {
  entry: RefusedHostPath;
  relation: "is" | "under" | "holds";
}

/** The refused path `path` meets, or undefined. `is` before `under` before `holds`. */
export function refusalOf(path: string, refused: readonly RefusedHostPath[]): Refusal | undefined {
  const is = refused.find((r) => r.path === path);
  if (is) return { entry: is, relation: "is" };
  const under = refused.find((r) => isWithin(path, r.path));
  if (under) return { entry: under, relation: "under" };
  const holds = refused.find((r) => isWithin(r.path, path));
  if (holds) return { entry: holds, relation: "holds" };
  return undefined;
}

/** `/var is refused: it holds /var/lib/docker (Docker's storage)`, without the subject. */
export function describeRefusal(refusal: Refusal): string {
  const { entry, relation } = refusal;
  if (relation === "is") return `it is ${entry.why}`;
  return `it ${relation === "under" ? "is under" : "holds"} ${entry.path} (${entry.why})`;
}

/** The directory of `allowed` that holds `path`, or undefined. */
export function allowingDir(path: string, allowed: readonly string[]): string | undefined {
  return allowed.find((dir) => isWithin(path, dir));
}

/** What the policy says of one host path. */
export type HostPathVerdict = { kind: "allowed"; by: string } | { kind: "refused"; refusal: Refusal } | { kind: "not-allowed" };

/** Judges `path` (normalised): refused paths first, whatever is allowed; then the namespace's directories and the defaults. */
export function judgeHostPath(path: string, allowed: readonly string[], rules: HostPathRules): HostPathVerdict {
  const refusal = refusalOf(path, rules.refused);
  if (refusal) return { kind: "refused", refusal };
  const by = allowingDir(path, [...allowed, ...rules.defaults]);
  return by === undefined ? { kind: "not-allowed" } : { kind: "allowed", by };
}

/** A bind mount of a spec the policy refuses: where it is, and why. */
export interface BindViolation {
  service: string;
  /** Index in the service's `volumes`. */
  index: number;
  source: string;
  /** The path judged, when it is not the source (the source's real path, on the machine that starts it). */
  real?: string;
  verdict: Exclude<HostPathVerdict, { kind: "allowed" }>;
}

/** Every bind of `spec` that `allowed` (the namespace's directories) and the rules refuse, in service order. */
export function bindViolations(spec: NamespaceSpec, allowed: readonly string[], rules: HostPathRules): BindViolation[] {
  const out: BindViolation[] = [];
  for (const service of Object.keys(spec.services).sort(compareText)) {
    spec.services[service]!.volumes.forEach((volume, index) => {
      if (volume.type !== "bind") return;
      const verdict = judgeHostPath(volume.source, allowed, rules);
      if (verdict.kind !== "allowed") out.push({ service, index, source: volume.source, verdict });
    });
  }
  return out;
}

/** Whether a spec has bind mounts at all (only then is the policy read). */
export function hasBinds(services: Iterable<{ volumes: ReadonlyArray<{ type: string }> }>): boolean {
  for (const service of services) if (service.volumes.some((v) => v.type === "bind")) return true;
  return false;
}

/** One line per violation, naming the service, the volume, the path (and its real path) and the namespace. */
export function describeBindViolation(namespace: string, v: BindViolation): string {
  const path = v.real === undefined ? `host path ${v.source}` : `host path ${v.source} (really ${v.real}, through a symlink)`;
  const why =
    v.verdict.kind === "refused"
      ? `is refused for every namespace: ${describeRefusal(v.verdict.refusal)}`
      : v.real === undefined
        ? `is not allowed for namespace ${namespace}`
        : `is outside every directory allowed for namespace ${namespace}`;
  return `services.${v.service}.volumes[${v.index}]: ${path} ${why}`;
}

/** What to do about them. */
export function bindViolationHint(namespace: string, violations: readonly BindViolation[]): string {
  const allow = `an operator allows a directory with \`ployzctl namespace allow-bind ${namespace} DIR\` (\`ployzctl namespace binds ${namespace}\` lists them)`;
  const refused = "a refused path cannot be allowed: bind a directory of its own instead, or use a named volume";
  const kinds = new Set(violations.map((v) => v.verdict.kind));
  return [...(kinds.has("not-allowed") ? [allow] : []), ...(kinds.has("refused") ? [refused] : [])].join("; ");
}

/** KV `policy`, key `binds.<namespace>`: the directories the namespace may bind from. */
export const bindPolicyKey = (namespace: string) => `binds.${namespace}`;

export const bindPolicyDocSchema = z
  .object({
    type: z.literal("bind-policy"),
    namespace: z.string(),
    allowed: z.array(hostPathSchema),
    updatedAt: z.string(),
  })
  .strict();
export type BindPolicyDoc = z.infer<typeof bindPolicyDocSchema>;

/** A change to a namespace's document, decided before the compare-and-set. */
export type BindPolicyChange = { kind: "changed"; doc: BindPolicyDoc } | { kind: "unchanged"; doc: BindPolicyDoc | null } | { kind: "refused"; reason: string };

/** `allow-bind`: `dir` added (sorted, once), unless it meets a refused path. */
export function withAllowedDir(doc: BindPolicyDoc | null, namespace: string, dir: string, rules: HostPathRules, now: Date): BindPolicyChange {
  const refusal = refusalOf(dir, rules.refused);
  if (refusal) return { kind: "refused", reason: `${dir} cannot be allowed for binds: ${describeRefusal(refusal)}` };
  const allowed = doc?.allowed ?? [];
  if (allowed.includes(dir)) return { kind: "unchanged", doc };
  return { kind: "changed", doc: { type: "bind-policy", namespace, allowed: [...allowed, dir].sort(compareText), updatedAt: now.toISOString() } };
}

/** `disallow-bind`: `dir` removed; unchanged when it was not there. */
export function withoutAllowedDir(doc: BindPolicyDoc | null, namespace: string, dir: string, now: Date): Exclude<BindPolicyChange, { kind: "refused" }> {
  const allowed = doc?.allowed ?? [];
  if (!allowed.includes(dir)) return { kind: "unchanged", doc };
  return { kind: "changed", doc: { type: "bind-policy", namespace, allowed: allowed.filter((d) => d !== dir), updatedAt: now.toISOString() } };
}
