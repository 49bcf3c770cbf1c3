import { z } from "zod";
import { compareText } from "./compare.ts";
import { normalizePrefix, type NamespaceSpec } from "./manifest.ts";

/**
 * Route ownership, claimed cluster-wide (KV `claims`): who may serve a hostname + path prefix.
 * Claims are kept per *zone* — the parent domain of an exact hostname (`shop.example.com` →
 * `example.com`), the base of a wildcard (`*.example.com` → `example.com`) — one document per
 * zone, written by compare-and-set. A wildcard and every exact hostname it covers are in the same
 * document, so the rules below hold atomically:
 *
 * - one hostname (or wildcard) + literal path prefix has one owning namespace;
 * - a wildcard conflicts with the exact hostnames it covers that another namespace serves (and
 *   the other way round), whatever their prefixes;
 * - the gateway serves exact hostnames before wildcards, so even same-namespace wildcards never
 *   take an exact hostname's traffic.
 *
 * Every entry carries the sequence on `commits.<ns>` it was written under (a fence before the
 * commit, the commit's own after it), so a writer of an older head changes nothing.
 */

/** The label under a zone a claim is for: a hostname's first label, or `*` for a wildcard. */
export const claimEntrySchema = z.object({
  label: z.string(),
  prefix: z.string(),
  namespace: z.string(),
  service: z.string(),
  seq: z.number().int().positive(),
});
export type ClaimEntry = z.infer<typeof claimEntrySchema>;

export const claimsDocSchema = z.object({ type: z.literal("route-claims"), zone: z.string(), entries: z.array(claimEntrySchema) });
export type ClaimsDoc = z.infer<typeof claimsDocSchema>;

/** Which zones a namespace has claims in (KV `claims`, key `ns.<namespace>`): where to look when it releases them. */
export const claimsIndexSchema = z.object({ type: z.literal("route-claims-index"), namespace: z.string(), zones: z.array(z.string()) });
export type ClaimsIndex = z.infer<typeof claimsIndexSchema>;

/** The zone of a hostname and its label in it. A single-label hostname (`localhost`) lives in the root zone. */
export function claimZone(hostname: string): { zone: string; label: string } {
  const dot = hostname.indexOf(".");
  if (dot < 0) return { zone: ROOT_ZONE, label: hostname };
  return { zone: hostname.slice(dot + 1), label: hostname.slice(0, dot) };
}

/** The zone of single-label hostnames. */
export const ROOT_ZONE = "_root";

/** The KV key of a zone's document and of a namespace's index. */
export const claimsZoneKey = (zone: string) => `zone.${zone}`;
export const claimsIndexKey = (namespace: string) => `ns.${namespace}`;

/** Everything a spec serves, as claims by zone (`seq` for the entries). None for a removed namespace. */
export function wantedClaims(namespace: string, spec: NamespaceSpec | null, seq: number): Map<string, ClaimEntry[]> {
  const byZone = new Map<string, ClaimEntry[]>();
  for (const [service, s] of Object.entries(spec?.services ?? {})) {
    for (const route of s.routes) {
      for (const hostname of route.hostnames) {
        const { zone, label } = claimZone(hostname);
        const entries = byZone.get(zone) ?? [];
        entries.push({ label, prefix: normalizePrefix(route.pathPrefix), namespace, service, seq });
        byZone.set(zone, entries);
      }
    }
  }
  return byZone;
}

/** A claim refused: what was wanted, and who owns what stands in its way. */
export interface ClaimConflict {
  hostname: string;
  pathPrefix: string;
  service: string;
  owner: { namespace: string; service: string; hostname: string; pathPrefix: string };
}

const hostOf = (zone: string, label: string) => (zone === ROOT_ZONE ? label : `${label}.${zone}`);

/** The entries of other namespaces that `wanted` (of `namespace`, in `zone`) conflicts with. */
export function claimConflicts(zone: string, doc: ClaimsDoc | null, namespace: string, wanted: readonly ClaimEntry[]): ClaimConflict[] {
  const others = (doc?.entries ?? []).filter((e) => e.namespace !== namespace);
  const conflicts: ClaimConflict[] = [];
  for (const w of wanted) {
    for (const o of others) {
      const same = o.label === w.label && o.prefix === w.prefix;
      const wildcardOverExact = (w.label === "*") !== (o.label === "*");
      if (same || wildcardOverExact) {
        conflicts.push({
          hostname: hostOf(zone, w.label),
          pathPrefix: w.prefix,
          service: w.service,
          owner: { namespace: o.namespace, service: o.service, hostname: hostOf(zone, o.label), pathPrefix: o.prefix },
        });
      }
    }
  }
  return conflicts;
}

/**
 * A zone's document with `namespace`'s entries set: `mode: "add"` keeps the ones it has (before
 * a commit, nothing is released), `mode: "exact"` leaves exactly `wanted` (the roll-forward of a
 * head). Entries are sorted so equal documents serialize the same.
 */
export function withClaims(zone: string, doc: ClaimsDoc | null, namespace: string, wanted: readonly ClaimEntry[], mode: "add" | "exact"): ClaimsDoc {
  const key = (e: ClaimEntry) => `${e.namespace}\u0000${e.label}\u0000${e.prefix}`;
  const kept = (doc?.entries ?? []).filter((e) => e.namespace !== namespace || (mode === "add" && !wanted.some((w) => key(w) === key(e))));
  const entries = [...kept, ...wanted].sort((a, b) => compareText(key(a), key(b)));
  return { type: "route-claims", zone, entries };
}

/** Whether two documents hold the same claims (the entries' sequences aside). */
export function sameClaims(a: ClaimsDoc | null, b: ClaimsDoc): boolean {
  const strip = (d: ClaimsDoc | null) => JSON.stringify((d?.entries ?? []).map(({ seq: _seq, ...e }) => e));
  return strip(a) === strip(b);
}

/** One line per conflict, as the error names them. */
export function describeClaimConflicts(namespace: string, conflicts: readonly ClaimConflict[]): string {
  return conflicts
    .map((c) => `route ${c.hostname}${c.pathPrefix} of ${namespace}/${c.service} conflicts with ${c.owner.hostname}${c.owner.pathPrefix}, claimed by ${c.owner.namespace}/${c.owner.service}`)
    .join("; ");
}

/** What settling a zone for a head decides. */
export type SettledZone = { kind: "unchanged"; refused: ClaimConflict[] } | { kind: "changed"; doc: ClaimsDoc; refused: ClaimConflict[] };

/**
 * A zone's claims for `namespace` as its head wants them exactly (the roll-forward): what it
 * serves is claimed, what it no longer serves is released — also claims left by deploys that
 * never committed — and a route another namespace owns is not taken (refused, named). Claims made
 * under `inFlightFence`, the fence of a deploy that holds the lease now, are left as they are:
 * that deploy may still commit them. Pure.
 */
export function settleZone(zone: string, doc: ClaimsDoc | null, namespace: string, wanted: readonly ClaimEntry[], inFlightFence?: number): SettledZone {
  const inFlight = (doc?.entries ?? []).filter((e) => e.namespace === namespace && e.seq === inFlightFence);
  const refused: ClaimConflict[] = [];
  const claimable = wanted.filter((w) => {
    const conflicts = claimConflicts(zone, doc, namespace, [w]);
    refused.push(...conflicts);
    return conflicts.length === 0;
  });
  const key = (e: ClaimEntry) => `${e.label}\u0000${e.prefix}`;
  const next = withClaims(zone, doc, namespace, [...claimable, ...inFlight.filter((e) => !claimable.some((w) => key(w) === key(e)))], "exact");
  if (sameClaims(doc, next)) return { kind: "unchanged", refused };
  return { kind: "changed", doc: next, refused };
}
