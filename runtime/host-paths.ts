import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { hostPathRules, type HostPathRules, type RefusedHostPath } from "../model/bind-policy.ts";
import { isWithin, normalizeHostPath } from "../model/host-path.ts";

/**
 * This machine's host path rules (model/bind-policy.ts): the fixed refused paths plus its own
 * data directory and Docker socket, each also under its real path when a symlink leads there
 * (`/var/run` → `/run`, a data directory reached through a link), since the machine that starts
 * a container judges the bind's real path.
 */
export function machineHostPathRules(dataDir: string, dockerSocket: string): HostPathRules {
  const rules = hostPathRules([
    { path: normalizeHostPath(resolve(dataDir)), why: "the Ployz data directory" },
    { path: normalizeHostPath(resolve(dockerSocket)), why: "the Docker socket" },
  ]);
  const refused: RefusedHostPath[] = [...rules.refused];
  for (const entry of rules.refused) {
    const real = realPathIfThere(entry.path);
    // Only where the link leads somewhere not refused already (`/bin` → `/usr/bin` is under `/usr`).
    if (real !== undefined && !refused.some((r) => isWithin(real, r.path))) refused.push({ path: real, why: entry.why });
  }
  return { ...rules, refused };
}

/** The real path, or undefined when nothing is there on this machine (nothing to hide behind a link then). */
function realPathIfThere(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}
