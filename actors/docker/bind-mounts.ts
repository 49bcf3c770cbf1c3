import { realpath } from "node:fs/promises";
import { bindViolationHint, describeBindViolation, judgeHostPath, type BindViolation, type HostPathRules } from "../../model/bind-policy.ts";
import { BindRefusedError, NotFoundError } from "../../model/errors.ts";
import type { ServiceSpec } from "../../model/manifest.ts";

/** A bind mount as Docker takes it (HostConfig.Mounts): from the source's real path, judged. */
export interface BindMount {
  Type: "bind";
  Source: string;
  Target: string;
  ReadOnly: boolean;
}

/** What the machine that starts a container judges its binds by. */
export interface BindCheck {
  namespace: string;
  service: string;
  /** The namespace's allowed directories, as read from the store for this start. */
  allowed: readonly string[];
  rules: HostPathRules;
  /** This machine, named in errors. */
  machine: string;
}

/**
 * Resolves every bind of the service to its real path on this machine (symlinks followed) and
 * judges that path against the policy again, right before the container is created: a symlink
 * inside an allowed directory that leads outside it, or to a refused path, is refused naming
 * both paths. An allowed directory that is itself a link counts by its real path too. A source
 * that does not exist is an error naming it (Docker would make it, as an empty directory owned by
 * root). Docker gets the real path, so what was judged is what is mounted.
 */
export async function resolveBindMounts(spec: ServiceSpec, check: BindCheck): Promise<BindMount[]> {
  const mounts: BindMount[] = [];
  const violations: BindViolation[] = [];
  const allowedReal = await withRealPaths([...check.allowed, ...check.rules.defaults]);
  for (const [index, volume] of spec.volumes.entries()) {
    if (volume.type !== "bind") continue;
    const where = `services.${check.service}.volumes[${index}]`;
    const written = judgeHostPath(volume.source, check.allowed, check.rules);
    if (written.kind !== "allowed") {
      violations.push({ service: check.service, index, source: volume.source, verdict: written });
      continue;
    }
    const real = await realPathOf(volume.source, where, check.machine);
    if (real !== volume.source) {
      const verdict = judgeHostPath(real, allowedReal, { refused: check.rules.refused, defaults: [] });
      if (verdict.kind !== "allowed") {
        violations.push({ service: check.service, index, source: volume.source, real, verdict });
        continue;
      }
    }
    mounts.push({ Type: "bind", Source: real, Target: volume.target, ReadOnly: volume.readOnly });
  }
  if (violations.length > 0) {
    throw new BindRefusedError(violations.map((v) => describeBindViolation(check.namespace, v)).join("; "), {
      hint: bindViolationHint(check.namespace, violations),
    });
  }
  return mounts;
}

async function realPathOf(source: string, where: string, machine: string): Promise<string> {
  try {
    return await realpath(source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new NotFoundError(`${where}: host path ${source} does not exist on machine ${machine}`, {
        hint: "create it there, owned by the user the container runs as: Ployz does not create bind sources",
        cause: error,
      });
    }
    throw new BindRefusedError(`${where}: host path ${source} cannot be resolved on machine ${machine}: ${(error as Error).message}`, { cause: error });
  }
}

/** The directories and, for those that are links on this machine, where they lead. */
async function withRealPaths(dirs: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const dir of dirs) {
    out.add(dir);
    try {
      out.add(await realpath(dir));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // An allowed directory that is not on this machine holds nothing here; anything else is an error.
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new BindRefusedError(`the allowed directory ${dir} cannot be resolved: ${(error as Error).message}`, { cause: error });
    }
  }
  return [...out];
}
