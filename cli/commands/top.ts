import type { Argv } from "yargs";
import { topView } from "../../model/top-model.ts";
import { connectClient } from "../../runtime/client.ts";
import { readContext } from "../../runtime/context.ts";
import { collectTopOnce, startTopFeed } from "../../runtime/top-feed.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";
import { printJson } from "../output.ts";

interface TopArgs extends GlobalArgs {
  once: boolean;
  machine: string | undefined;
}

/** ink, react and the views load only when drawing: every other command starts as fast as before. */
async function loadTui() {
  // React's development build records every render with performance.measure, which Node keeps
  // forever: `top` grew by megabytes a second. A user's own NODE_ENV still wins.
  process.env.NODE_ENV ??= "production";
  const [{ render, renderToString }, { default: React }, { TopApp }, { TopSnapshot }, { enterFullScreen }] = await Promise.all([
    import("ink"),
    // React is CommonJS: in the bundle its chunk has only a default export.
    import("react"),
    import("../../tui/top/TopApp.tsx"),
    import("../../tui/top/TopSnapshot.tsx"),
    import("../../tui/terminal.ts"),
  ]);
  return { render, renderToString, createElement: React.createElement, TopApp, TopSnapshot, enterFullScreen };
}

/** `ployz top`: every machine's actors, live; `--once` (or no terminal) prints one snapshot. */
export const topCommand: CommandBody<TopArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("once", { type: "boolean", default: false, describe: "print one snapshot and exit (for scripts)" })
      .option("machine", { type: "string", describe: "only this machine" }),
  handler: async (args) => {
    const interactive = !args.once && !args.json && process.stdin.isTTY && process.stdout.isTTY;
    if (!interactive) {
      if (!args.once && !args.json) process.stderr.write("ployz top: not a terminal, printing one snapshot (--once says so)\n");
      const state = await withClient(args, (client) => collectTopOnce(client, { machine: args.machine }));
      const view = topView(state.model, state.now);
      if (args.json) return printJson(args.machine ? { ...view, machines: view.machines.filter((m) => m.id === args.machine) } : view);
      const { renderToString, createElement, TopSnapshot } = await loadTui();
      const context = readContext(process.env, args.context).name;
      // Not a terminal: wide enough that a script gets whole lines.
      const width = process.stdout.columns || 160;
      process.stdout.write(`${renderToString(createElement(TopSnapshot, { view, context, width, machine: args.machine }), { columns: width })}\n`);
      return;
    }
    const { render, createElement, TopApp, enterFullScreen } = await loadTui();
    const client = await connectClient(readContext(process.env, args.context));
    const feed = startTopFeed(client, args.machine ? { machine: args.machine } : {});
    const leaveFullScreen = enterFullScreen(process.stdout);
    try {
      const app = render(createElement(TopApp, { feed, context: client.context.name }), { maxFps: 10, patchConsole: true });
      await app.waitUntilExit();
      app.cleanup();
    } finally {
      feed.close();
      leaveFullScreen();
      await client.close();
    }
  },
};
