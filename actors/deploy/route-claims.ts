import { parseJsonOrUndefined } from "../../model/json.ts";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { InvalidStateError, RouteConflictError } from "../../model/errors.ts";
import type { NamespaceSpec } from "../../model/manifest.ts";
import {
  claimConflicts,
  claimsDocSchema,
  claimsIndexKey,
  claimsIndexSchema,
  claimsZoneKey,
  describeClaimConflicts,
  settleZone,
  wantedClaims,
  withClaims,
  type ClaimConflict,
  type ClaimsDoc,
} from "../../model/route-claims.ts";
import { fromStore, storeUnavailable } from "../store/store-errors.ts";

/** Route claims in KV `claims` (model/route-claims.ts): read, acquired before a commit, settled by the roll-forward. */

const WRONG_LAST_SEQUENCE = 10071;
const MAX_ATTEMPTS = 5;

interface Versioned<T> {
  value: T | null;
  revision: number;
}

async function readDoc(claims: KV, zone: string): Promise<Versioned<ClaimsDoc>> {
  const entry = await fromStore(`the route claims of ${zone}`, () => claims.get(claimsZoneKey(zone)));
  if (entry?.operation !== "PUT") return { value: null, revision: entry?.revision ?? 0 };
  const parsed = claimsDocSchema.safeParse(parseJsonOrUndefined(entry.string()));
  if (!parsed.success) throw new InvalidStateError(`the route claims of zone ${zone} (KV claims, key ${claimsZoneKey(zone)}) are invalid; refusing to decide ownership on them`);
  return { value: parsed.data, revision: entry.revision };
}

/** Conflicts the spec's routes would have with other namespaces' claims now (read only: for planning and preview). */
export async function checkClaims(claims: KV, namespace: string, spec: NamespaceSpec): Promise<ClaimConflict[]> {
  const wanted = wantedClaims(namespace, spec, 1);
  const docs = await Promise.all([...wanted].map(async ([zone, entries]) => claimConflicts(zone, (await readDoc(claims, zone)).value, namespace, entries)));
  return docs.flat();
}

/**
 * Claims every route of `spec` for `namespace` under fence `token`, before its commit: each zone
 * by compare-and-set, so of two namespaces claiming one route at once exactly one wins. Nothing is
 * released here (the commit may still fail): the roll-forward of the head releases what it no
 * longer serves. A conflict fails with RouteConflictError naming the owner; zones claimed before
 * it stay claimed until the namespace's next roll-forward settles them.
 */
export async function acquireClaims(claims: KV, namespace: string, spec: NamespaceSpec, token: number): Promise<void> {
  const wanted = wantedClaims(namespace, spec, token);
  await updateIndex(claims, namespace, (zones) => [...new Set([...zones, ...wanted.keys()])]);
  for (const [zone, entries] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    await casZone(claims, zone, (doc) => {
      const conflicts = claimConflicts(zone, doc, namespace, entries);
      if (conflicts.length > 0) {
        throw new RouteConflictError(describeClaimConflicts(namespace, conflicts), { hint: "a hostname and path prefix can have one owner, and a wildcard and the hostnames it covers one namespace: change one of them, or remove the other first" });
      }
      return withClaims(zone, doc, namespace, entries, "add");
    });
  }
}

/**
 * Makes `namespace`'s claims exactly what its head serves (`spec`; null after `namespace rm` or
 * before any commit): adds what is missing, releases what it no longer serves and what deploys
 * that never committed claimed, but leaves the claims of the deploy in flight (`inFlightFence`).
 * A route that another namespace claimed meanwhile is not taken from it: returned as a note.
 */
export async function settleClaims(claims: KV, namespace: string, spec: NamespaceSpec | null, headSeq: number, inFlightFence?: number): Promise<string[]> {
  const wanted = wantedClaims(namespace, spec, headSeq);
  const index = await readIndex(claims, namespace);
  const notes: string[] = [];
  for (const zone of [...new Set([...(index.value?.zones ?? []), ...wanted.keys()])].sort()) {
    await casZone(claims, zone, (doc) => {
      const settled = settleZone(zone, doc, namespace, wanted.get(zone) ?? [], inFlightFence);
      if (settled.refused.length > 0) notes.push(`not claimed: ${describeClaimConflicts(namespace, settled.refused)}`);
      return settled.kind === "changed" ? settled.doc : null;
    });
  }
  const kept = await keptZones(claims, [...new Set([...(index.value?.zones ?? []), ...wanted.keys()])], namespace);
  await updateIndex(claims, namespace, () => kept);
  return [...new Set(notes)];
}

/**
 * Releases what a deploy claimed under `token` and did not commit (compensation). Claims it shares
 * with the head stay: the head serves them.
 */
export async function dropClaims(claims: KV, namespace: string, token: number): Promise<void> {
  const index = await readIndex(claims, namespace);
  for (const zone of index.value?.zones ?? []) {
    await casZone(claims, zone, (doc) => {
      if (!doc?.entries.some((e) => e.namespace === namespace && e.seq === token)) return null;
      return { ...doc, entries: doc.entries.filter((e) => !(e.namespace === namespace && e.seq === token)) };
    });
  }
}

/** The zones where the namespace still has claims (the index keeps naming them). */
async function keptZones(claims: KV, zones: string[], namespace: string): Promise<string[]> {
  const docs = await Promise.all(zones.map(async (zone) => ({ zone, doc: (await readDoc(claims, zone)).value })));
  return docs.filter((d) => d.doc?.entries.some((e) => e.namespace === namespace)).map((d) => d.zone).sort();
}

/** Read-modify-write of one zone document; `change` returns null for "no change". */
async function casZone(claims: KV, zone: string, change: (doc: ClaimsDoc | null) => ClaimsDoc | null): Promise<void> {
  const key = claimsZoneKey(zone);
  for (let attempt = 1; ; attempt++) {
    const { value, revision } = await readDoc(claims, zone);
    const next = change(value);
    if (next === null) return;
    try {
      if (revision > 0) await claims.update(key, JSON.stringify(next), revision);
      else await claims.create(key, JSON.stringify(next));
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) || attempt >= MAX_ATTEMPTS) throw storeUnavailable(error, `the route claims of ${zone}`);
    }
  }
}

async function readIndex(claims: KV, namespace: string) {
  const entry = await fromStore(`the route claims index of ${namespace}`, () => claims.get(claimsIndexKey(namespace)));
  if (entry?.operation !== "PUT") return { value: null, revision: entry?.revision ?? 0 };
  const parsed = claimsIndexSchema.safeParse(parseJsonOrUndefined(entry.string()));
  // The index only says where to look: one that does not parse is rebuilt, and said so.
  if (!parsed.success) throw new InvalidStateError(`the route claims index of ${namespace} (KV claims, key ${claimsIndexKey(namespace)}) is invalid`);
  return { value: parsed.data, revision: entry.revision };
}

async function updateIndex(claims: KV, namespace: string, zonesOf: (current: string[]) => string[]): Promise<void> {
  const key = claimsIndexKey(namespace);
  for (let attempt = 1; ; attempt++) {
    const { value, revision } = await readIndex(claims, namespace);
    const zones = zonesOf(value?.zones ?? []);
    if (value && JSON.stringify(value.zones) === JSON.stringify(zones)) return;
    try {
      const doc = JSON.stringify({ type: "route-claims-index", namespace, zones });
      if (revision > 0) await claims.update(key, doc, revision);
      else await claims.create(key, doc);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) || attempt >= MAX_ATTEMPTS) throw storeUnavailable(error, `the route claims index of ${namespace}`);
    }
  }
}
