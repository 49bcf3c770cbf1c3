import { statechartGraph } from "./graph.ts";
import { STATECHARTS } from "./registry.ts";
import { renderMermaid } from "./render.ts";

/** `docs/statecharts.md`: the Mermaid of every statechart in machines/, generated (a test keeps it in sync). */
export function statechartsMarkdown(): string {
  const out = [
    "# Statecharts",
    "",
    "Generated from `machines/` by `npx tsx scripts/statecharts-doc.ts`; `test/unit/statechart-render.test.ts` fails when",
    "this file and the code disagree. The same drawings, with the current state marked, come from",
    "`ployzctl debug statechart NAME --format mermaid|dot|json|ascii [--state S]`, and `ployz top` shows",
    "the one of an opened actor. `done(x)` / `error(x)` are the invoked actor `x` finishing or failing;",
    "`after(d)` is the delay `d`; `[g]` is the guard `g`. A transition of a compound state is drawn from",
    "each of its states.",
  ];
  for (const [name, machine] of Object.entries(STATECHARTS)) {
    out.push("", `## ${name}`, "", "```mermaid", renderMermaid(statechartGraph(machine)).trimEnd(), "```");
  }
  return `${out.join("\n")}\n`;
}
