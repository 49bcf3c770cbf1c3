import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import {
  COMMITS_KEPT_PER_NAMESPACE,
  commitsRecordSchema,
  type Commit,
  type Fence,
  type Removal,
  type StoredCommitsRecord,
  type StoredHead,
} from "../../model/commit.ts";
import { FencedError, InvalidStateError, NotFoundError } from "../../model/errors.ts";
import { fenceVerdict } from "../../model/fencing.ts";
import { namespaceAuthority } from "../../model/namespace-authority.ts";
import { readLastMessage, readMessageAt, readSubject, type StoredMessage } from "../store/read-subject.ts";
import { fromStore, storeUnavailable } from "../store/store-errors.ts";

/**
 * `commits.<namespace>` in stream COMMITS: the namespace's commits (and removals), the fences of
 * lease holders between them, appended with an expected last sequence so nothing is ever
 * overwritten. The only module that writes there.
 */

export const commitsSubject = (namespace: string) => `commits.${namespace}`;
const WRONG_LAST_SEQUENCE = 10071;

/** The last record of the namespace (commit, removal or fence), or null before its first lease. */
export async function readLastCommitsRecord(jsm: JetStreamManager, namespace: string): Promise<StoredCommitsRecord | null> {
  const msg = await readLastMessage(jsm, "COMMITS", commitsSubject(namespace));
  return msg ? parseRecord(msg) : null;
}

/** The namespace's head: its last commit or removal (a fence names the head it saw), or null before its first commit. */
export async function readHead(jsm: JetStreamManager, namespace: string): Promise<StoredHead | null> {
  return (await readTip(jsm, namespace)).head;
}

/** The last record of `commits.<ns>` and the head it stands on. */
export async function readTip(jsm: JetStreamManager, namespace: string): Promise<{ last: StoredCommitsRecord | null; head: StoredHead | null }> {
  const last = await readLastCommitsRecord(jsm, namespace);
  if (!last) return { last, head: null };
  if (last.type !== "fence") return { last, head: last };
  return { last, head: last.headSeq === null ? null : await readHeadAt(jsm, namespace, last.headSeq) };
}

/** The namespace's authority now (`namespaceAuthority`), or undefined before anyone fenced it. */
export async function readAuthority(jsm: JetStreamManager, namespace: string): Promise<string | undefined> {
  return namespaceAuthority(await readTip(jsm, namespace));
}

/** One commit or removal of the namespace, by sequence. */
export async function readHeadAt(jsm: JetStreamManager, namespace: string, seq: number): Promise<StoredHead> {
  const msg = await readMessageAt(jsm, "COMMITS", seq);
  if (!msg || msg.subject !== commitsSubject(namespace)) throw new NotFoundError(`namespace ${namespace} has no commit ${seq}`, { hint: `see \`ployzctl history -n ${namespace}\`` });
  const record = parseRecord(msg);
  if (record.type === "fence") throw new NotFoundError(`${seq} is a fence of namespace ${namespace}, not a commit`, { hint: `see \`ployzctl history -n ${namespace}\`` });
  return record;
}

/** Every commit and removal of the namespace still kept, oldest first (fences left out). */
export async function readHistory(js: JetStreamClient, jsm: JetStreamManager, namespace: string): Promise<StoredHead[]> {
  const messages = await readSubject(js, jsm, "COMMITS", commitsSubject(namespace));
  return messages.map(parseRecord).filter((r): r is StoredHead => r.type !== "fence");
}

/** One commit by sequence; it must belong to the namespace and be a commit. */
export async function readCommit(jsm: JetStreamManager, namespace: string, seq: number) {
  const head = await readHeadAt(jsm, namespace, seq);
  if (head.type !== "commit") throw new NotFoundError(`${seq} is the removal of namespace ${namespace}, not a commit`);
  return head;
}

/**
 * Appends a fence for a new lease holder, after whatever is last now, and returns its sequence:
 * the holder's token. A fence left by a holder that never committed is deleted (it fences
 * nothing once a newer one exists), so failed deploys do not pile records up.
 */
export async function appendFence(js: JetStreamClient, jsm: JetStreamManager, fence: Omit<Fence, "type" | "headSeq">): Promise<Appended> {
  for (let attempt = 1; ; attempt++) {
    const last = await readLastCommitsRecord(jsm, fence.namespace);
    const headSeq = last === null ? null : last.type === "fence" ? last.headSeq : last.seq;
    const record: Fence = { type: "fence", ...fence, headSeq };
    try {
      const ack = await js.publish(commitsSubject(fence.namespace), JSON.stringify(record), { expect: { lastSubjectSequence: last?.seq ?? 0 } });
      const warnings = last?.type === "fence" ? await dropFence(jsm, last.seq) : [];
      return { seq: ack.seq, warnings };
    } catch (error) {
      // A holder whose lease just expired may append its commit between our read and our fence: read again.
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE && attempt < 3) continue;
      throw storeUnavailable(error, `a fence on commits.${fence.namespace}`);
    }
  }
}

/**
 * The point of no return: appends a commit (or removal) made under fence `record.fenceSeq`,
 * expecting that fence to be the last record. A later holder's fence makes it fail with
 * FencedError and change nothing. When the answer is lost (timeout), the record is read back:
 * what is in the store decides, never a guess.
 */
export async function appendHead(js: JetStreamClient, jsm: JetStreamManager, record: Commit | Removal): Promise<Appended> {
  const subject = commitsSubject(record.namespace);
  const fenceSeq = record.fenceSeq;
  if (fenceSeq === undefined) throw new InvalidStateError(`${record.type} of deploy ${record.deployId} carries no fence`);
  try {
    // The message id makes a resend of the same record (its answer lost) land once; it names the
    // namespace, since de-duplication is stream-wide.
    const ack = await js.publish(subject, JSON.stringify(record), { expect: { lastSubjectSequence: fenceSeq }, msgID: `${record.type}-${record.namespace}-${record.deployId}` });
    if (ack.duplicate) {
      const stored = await readLastCommitsRecord(jsm, record.namespace);
      if (!stored || stored.seq !== ack.seq || stored.type !== record.type || stored.deployId !== record.deployId) {
        throw new InvalidStateError(`the ${record.type} of deploy ${record.deployId} was taken for a duplicate of message ${ack.seq}, which is not it`);
      }
    }
    return { seq: ack.seq, warnings: await dropFence(jsm, fenceSeq) };
  } catch (error) {
    const last = await readLastCommitsRecord(jsm, record.namespace);
    if (last && last.type === record.type && last.deployId === record.deployId) return { seq: last.seq, warnings: [] }; // it landed; only the answer was lost
    if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) {
      const verdict = fenceVerdict(record.namespace, last, fenceSeq);
      const why = verdict.ok ? `commits.${record.namespace} changed under fence ${fenceSeq}` : verdict.reason;
      throw new FencedError(`deploy ${record.deployId} may not commit: ${why}`, {
        hint: "its lease expired and a later holder took the namespace; nothing was written",
        cause: error,
      });
    }
    throw storeUnavailable(error, `the ${record.type} of deploy ${record.deployId}`);
  }
}

/** Throws FencedError unless `token` still rules the namespace (checked against the store now). */
export async function assertFence(jsm: JetStreamManager, namespace: string, token: number, what: string): Promise<void> {
  const last = await readLastCommitsRecord(jsm, namespace);
  const verdict = fenceVerdict(namespace, last, token);
  if (!verdict.ok) throw new FencedError(`${what} refused: ${verdict.reason}`, { hint: "a later deploy took the namespace; this one changes nothing more" });
}

/**
 * Keeps the last COMMITS_KEPT_PER_NAMESPACE commits (and removals) of the namespace and purges
 * everything older. The head is never purged. Returns how many messages went.
 */
export async function pruneHistory(js: JetStreamClient, jsm: JetStreamManager, namespace: string, keep = COMMITS_KEPT_PER_NAMESPACE): Promise<number> {
  const subject = commitsSubject(namespace);
  const info = await fromStore("stream COMMITS", () => jsm.streams.info("COMMITS", { subjects_filter: subject }));
  const count = info.state.subjects?.[subject] ?? 0;
  if (count <= keep) return 0;
  const heads = await readHistory(js, jsm, namespace);
  if (heads.length <= keep) return 0;
  const oldestKept = heads[heads.length - keep]!.seq;
  const purged = await fromStore(`old commits of ${namespace}`, () => jsm.streams.purge("COMMITS", { filter: subject, seq: oldestKept }));
  return purged.purged;
}

function parseRecord(msg: StoredMessage): StoredCommitsRecord {
  const parsed = commitsRecordSchema.safeParse(msg.json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidStateError(`record ${msg.seq} on ${msg.subject} in stream COMMITS is invalid (${issue?.path.join(".")}: ${issue?.message}); refusing to use it`, {
      hint: "it was not written by this version of Ployz; inspect it with `nats stream get COMMITS " + msg.seq + "`",
    });
  }
  return { ...parsed.data, seq: msg.seq };
}

/** A record appended: its sequence, and what went wrong tidying up after it (never a reason to doubt the append). */
export interface Appended {
  seq: number;
  warnings: string[];
}

/** Deletes a fence that no longer fences anything; a failure only leaves it behind, and says so. */
async function dropFence(jsm: JetStreamManager, seq: number): Promise<string[]> {
  try {
    await jsm.streams.deleteMessage("COMMITS", seq, false);
    return [];
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10057) return []; // already gone (no message found)
    return [`could not delete fence ${seq} from stream COMMITS (it stays, fencing nothing): ${error instanceof Error ? error.message : String(error)}`];
  }
}
