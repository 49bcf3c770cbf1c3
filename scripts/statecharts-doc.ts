// Writes docs/statecharts.md from machines/ (the Mermaid of every statechart).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { statechartsMarkdown } from "../tui/statechart/doc.ts";

const target = fileURLToPath(new URL("../docs/statecharts.md", import.meta.url));
writeFileSync(target, statechartsMarkdown());
process.stdout.write(`wrote ${target}\n`);
