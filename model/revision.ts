import { compareText } from "./compare.ts";
import { createHash } from "node:crypto";
import type { ServiceSpec } from "./manifest.ts";

/** JSON with object keys sorted, so equal values always serialize the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareText(a, b)))
      : v,
  );
}

/** A short content hash. */
export function shortHash(value: unknown, length = 12): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, length);
}

/**
 * A service's revision: the hash of its normalized spec without the replica count (which says
 * how many instances run, not what each one is) and of the exact image it runs (`imageId`, the
 * image's id when the deploy was planned: an image pushed again under the same tag is a new
 * revision). An unchanged service keeps its revision, so its instances stay where they are, and
 * scaling adds or removes slots without replacing the rest.
 */
export function serviceRevision(service: ServiceSpec, imageId: string): string {
  const { replicas: _replicas, ...instance } = service;
  return shortHash({ instance, imageId });
}
