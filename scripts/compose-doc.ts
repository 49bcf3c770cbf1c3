// Rewrites the coverage table in docs/compose.md from model/compose-coverage.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withCoverageTable } from "../model/compose-coverage-doc.ts";

const target = fileURLToPath(new URL("../docs/compose.md", import.meta.url));
writeFileSync(target, withCoverageTable(readFileSync(target, "utf8")));
process.stdout.write(`wrote ${target}\n`);
