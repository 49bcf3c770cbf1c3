import type { StoredCommitsRecord, StoredHead } from "./commit.ts";

/**
 * The machine that is a namespace's authority: the one its head (last commit or removal) names;
 * before any commit, the holder of its last fence. A namespace nobody deployed yet has none: the
 * machine whose API receives its first deploy becomes it (its coordinator fences and commits).
 * Deploys received anywhere else are forwarded there, and only its reconciler looks after it.
 */
export function namespaceAuthority(tip: { last: StoredCommitsRecord | null; head: StoredHead | null }): string | undefined {
  if (tip.head) return tip.head.authority;
  if (tip.last?.type === "fence") return tip.last.holder;
  return undefined;
}
