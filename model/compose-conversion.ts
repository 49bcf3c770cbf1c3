import { coverageOf, type CoverageSection } from "./compose-coverage.ts";
import { show, type DocumentPath, type ManifestIssue } from "./manifest-errors.ts";

/**
 * The bookkeeping of one Compose conversion: every problem with its Compose path, and which
 * Compose path each Ployz field came from (so a problem zod finds in the Ployz spec is reported
 * where the operator wrote it).
 */

export type Path = Array<string | number>;
export type Doc = Record<string, unknown>;

export function isRecord(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class ConversionLog {
  readonly issues: ManifestIssue[] = [];
  private readonly origins = new Map<string, { path: Path; opaque: boolean }>();

  /** The Compose path a Ployz path came from: the longest recorded prefix, plus the rest unless the source was a short-syntax string. */
  composePathOf(path: DocumentPath): DocumentPath {
    for (let n = path.length; n >= 0; n--) {
      const origin = this.origins.get(JSON.stringify(path.slice(0, n)));
      if (origin) return origin.opaque ? origin.path : [...origin.path, ...path.slice(n)];
    }
    return path;
  }

  /** Records that the Ployz field at `ployz` came from `compose`; `opaque` when the source is one string. */
  from(ployz: Path, compose: Path, opaque = false): void {
    this.origins.set(JSON.stringify(ployz), { path: compose, opaque });
  }

  fail(path: Path, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** Refuses every key the coverage table refuses (with its reason) or does not know; `x-` extensions pass. */
  checkSection(doc: Doc, at: Path, section: CoverageSection): void {
    for (const key of Object.keys(doc)) {
      if (key.startsWith("x-")) continue;
      const entry = coverageOf(section, key);
      if (!entry) this.fail([...at, key], `${JSON.stringify(key)} is not an attribute of the Compose Specification`);
      else if (entry.status === "refused") this.fail([...at, key], `Ployz does not support ${JSON.stringify(key)} — ${entry.why}`);
    }
  }

  /** Refuses every key not in `supported` (the parts the coverage table does not go into), except `x-` extensions. */
  checkKeys(doc: Doc, at: Path, supported: readonly string[], why: Record<string, string> = {}): void {
    for (const key of Object.keys(doc)) {
      if (supported.includes(key) || key.startsWith("x-")) continue;
      this.fail([...at, key], `Ployz does not support ${JSON.stringify(key)}${why[key] ? ` — ${why[key]}` : ""}`);
    }
  }

  mapping(raw: unknown, at: Path, what: string): Doc | undefined {
    if (raw === undefined) return undefined;
    if (isRecord(raw)) return raw;
    return this.fail(at, `expected ${what}, got ${show(raw)}`);
  }

  list(raw: unknown, at: Path): unknown[] {
    if (raw === undefined) return [];
    if (Array.isArray(raw)) return raw;
    this.fail(at, `expected a list, got ${show(raw)}`);
    return [];
  }

  /** A string, or a list of strings (Compose's string_or_list). */
  stringOrList(raw: unknown, at: Path): string[] {
    if (raw === undefined) return [];
    if (typeof raw === "string") return [raw];
    return this.list(raw, at).flatMap((item, i) => (typeof item === "string" ? [item] : (this.fail([...at, i], `expected a string, got ${show(item)}`), [])));
  }

  /** A numeric user or group id, as Compose writes them (strings) or as numbers. */
  numericId(raw: unknown, at: Path): number | undefined {
    if (raw === undefined) return undefined;
    const text = typeof raw === "number" ? String(raw) : raw;
    if (typeof text === "string" && /^\d{1,10}$/.test(text) && Number(text) <= 2 ** 32 - 2) return Number(text);
    return this.fail(at, `${show(raw)} is not a numeric id: write the number (e.g. "1000")`);
  }

  /** A file mode: a number, or a string of octal digits (`"0440"`); YAML's 0440 is already read as octal. */
  fileMode(raw: unknown, at: Path): unknown {
    if (typeof raw === "string" && /^[0-7]{1,4}$/.test(raw)) return Number.parseInt(raw, 8);
    if (typeof raw === "string") return this.fail(at, `${show(raw)} is not an octal file mode like "0440"`);
    return raw;
  }
}
