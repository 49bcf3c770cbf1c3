import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Commands } from "../../actors/host/commands.ts";
import { CommandFailedError } from "../../model/errors.ts";
import { blocksOverlap, formatIpv4Block, parseIpv4, parseIpv4Block, type Ipv4Block } from "../../model/ipv4.ts";

/** Labs take their underlay /24 from here; one the host routes to, or another lab holds, is skipped. */
export const LAB_UNDERLAY_POOL = "10.213.0.0/16";

const claimsDir = (root: string) => join(root, "underlays");

/**
 * Claims a free /24 for a lab's underlay: none of the host's routes (any table) overlap it and no
 * other lab holds it. The claim is a file created exclusively (`<root>/underlays/<a.b.c.0>`
 * holding the lab id), so two labs starting at once never take the same one.
 */
export async function claimUnderlay(commands: Commands, root: string, labId: string): Promise<string> {
  const routes = JSON.parse(await commands.run(["ip", "-j", "-4", "route", "show", "table", "all"])) as Array<{ dst: string }>;
  const used = routes.flatMap((r) => routeBlock(r.dst) ?? []);
  const pool = parseIpv4Block(LAB_UNDERLAY_POOL)!;
  mkdirSync(claimsDir(root), { recursive: true, mode: 0o700 });
  const start = Number.parseInt(labId, 16) % 256; // spread labs, so claims rarely race
  for (let i = 0; i < 256; i++) {
    const block = { base: pool.base + ((start + i) % 256) * 256, bits: 24 };
    if (used.some((u) => blocksOverlap(u, block))) continue;
    const claim = join(claimsDir(root), formatIpv4Block(block).replace("/", "_"));
    let fd: number;
    try {
      fd = openSync(claim, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw error;
    }
    writeSync(fd, labId);
    closeSync(fd);
    return formatIpv4Block(block);
  }
  throw new CommandFailedError(`no free /24 for a lab underlay in ${LAB_UNDERLAY_POOL}`, { hint: "destroy labs that are left (ployzctl dev down, or the lab sweep)" });
}

/** Gives the underlay back (only if this lab holds it). */
export function releaseUnderlay(root: string, labId: string, underlay: string): void {
  const claim = join(claimsDir(root), underlay.replace("/", "_"));
  if (claimHolder(claim) === labId) rmSync(claim, { force: true });
}

/** Claims held by labs that are not in `alive` (their lab id), to release in a sweep. */
export function orphanClaims(root: string, alive: ReadonlySet<string>): Array<{ underlay: string; labId: string }> {
  let entries: string[];
  try {
    entries = readdirSync(claimsDir(root));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries.flatMap((entry) => {
    const holder = claimHolder(join(claimsDir(root), entry));
    return holder !== undefined && !alive.has(holder) ? [{ underlay: entry.replace("_", "/"), labId: holder }] : [];
  });
}

function claimHolder(claim: string): string | undefined {
  try {
    return readFileSync(claim, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function routeBlock(dst: string): Ipv4Block | undefined {
  if (dst === "default") return undefined;
  const [address, bits] = dst.split("/");
  const base = parseIpv4(address ?? "");
  if (base === undefined) return undefined;
  const prefix = bits === undefined ? 32 : Number(bits);
  const size = 2 ** (32 - prefix);
  return { base: base - (base % size), bits: prefix };
}
