import type { CommitsRecord } from "./commit.ts";

/** The last record on `commits.<namespace>` as fencing needs it. */
export type LastCommitsRecord = Pick<CommitsRecord, "type" | "deployId"> & { seq: number; fenceSeq?: number | undefined };

export type FenceVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether a holder's fence token (the sequence of the fence it appended when it took the lease)
 * still rules the namespace: the last record on `commits.<namespace>` must be that fence, or the
 * commit (or removal) made under it. Anything newer means a later holder fenced it out.
 */
export function fenceVerdict(namespace: string, last: LastCommitsRecord | null, token: number): FenceVerdict {
  if (last === null) return { ok: false, reason: `namespace ${namespace} has no fence ${token}: commits.${namespace} is empty` };
  if (last.seq === token) return { ok: true };
  if (last.type !== "fence" && last.fenceSeq === token) return { ok: true };
  if (last.seq < token) return { ok: false, reason: `fence ${token} of namespace ${namespace} is not in the store (its last record is ${last.seq})` };
  return { ok: false, reason: `fence ${token} of namespace ${namespace} is stale: ${describeLast(last)} came after it` };
}

function describeLast(last: LastCommitsRecord): string {
  if (last.type === "fence") return `fence ${last.seq} of ${last.deployId}`;
  return `${last.type} ${last.seq} of deploy ${last.deployId}`;
}
