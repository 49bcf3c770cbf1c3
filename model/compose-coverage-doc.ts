import { COMPOSE_COVERAGE, COVERAGE_SECTIONS, coverageCounts, type CoverageSection } from "./compose-coverage.ts";

/**
 * The coverage table as Markdown, for `docs/compose.md` (between the markers below, so the prose
 * around it is written by hand). A test keeps the file in sync; `npx tsx scripts/compose-doc.ts`
 * rewrites it.
 */

export const COVERAGE_BEGIN = "<!-- coverage table: generated from model/compose-coverage.ts by scripts/compose-doc.ts -->";
export const COVERAGE_END = "<!-- end of coverage table -->";

const LABEL = { supported: "supported", ignored: "ignored", refused: "**refused**" } as const;

export function composeCoverageMarkdown(): string {
  const counts = coverageCounts();
  const lines = [
    COVERAGE_BEGIN,
    "",
    `${counts.supported + counts.ignored + counts.refused} attributes: ${counts.supported} supported, ${counts.ignored} accepted and ignored on purpose, ${counts.refused} refused.`,
    "",
  ];
  for (const section of Object.keys(COVERAGE_SECTIONS) as CoverageSection[]) {
    lines.push(`### \`${COVERAGE_SECTIONS[section].title}\``, "", "| attribute | | how, or why not |", "|---|---|---|");
    for (const [key, entry] of Object.entries(COMPOSE_COVERAGE[section]).sort(([a], [b]) => a.localeCompare(b))) {
      const text = entry.status === "supported" ? entry.how : entry.why;
      lines.push(`| \`${key}\` | ${LABEL[entry.status]} | ${text.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;")} |`);
    }
    lines.push("");
  }
  lines.push(COVERAGE_END);
  return lines.join("\n");
}

/** `doc` with its coverage section replaced by the current one; throws when the markers are missing. */
export function withCoverageTable(doc: string): string {
  const begin = doc.indexOf(COVERAGE_BEGIN);
  const end = doc.indexOf(COVERAGE_END);
  if (begin < 0 || end < begin) throw new Error("docs/compose.md has lost its coverage table markers");
  return doc.slice(0, begin) + composeCoverageMarkdown() + doc.slice(end + COVERAGE_END.length);
}
