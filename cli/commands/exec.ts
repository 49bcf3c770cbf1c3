import { hostname, userInfo } from "node:os";
import type { Argv } from "yargs";
import { InvalidArgumentError } from "../../model/errors.ts";
import { parseInstanceTarget } from "../../model/exec.ts";
import { withClient, type CommandBody, type GlobalArgs } from "../args.ts";

interface ExecArgs extends GlobalArgs {
  namespace: string;
  target: string;
  command: string[] | undefined;
  interactive: boolean;
  tty: boolean;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * `ployzctl exec -n NS SERVICE[#SLOT] [-i] [-t] -- CMD ARGS…`: runs a command in an instance,
 * wherever it runs, and exits with its exit code. `-it` gives it a real terminal (raw mode here,
 * resizes passed on, Ctrl-C reaches the command); without `-t`, SIGINT/SIGTERM are passed on to
 * the command and three Ctrl-C end it.
 */
export const execCommand: CommandBody<ExecArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("namespace", { alias: "n", type: "string", demandOption: true })
      .positional("target", { type: "string", demandOption: true, describe: "SERVICE or SERVICE#SLOT (default: the lowest running slot)" })
      .positional("command", { type: "string", array: true, describe: "the command and its arguments, after --" })
      .option("interactive", { alias: "i", type: "boolean", default: false, describe: "pass stdin to the command" })
      .option("tty", { alias: "t", type: "boolean", default: false, describe: "give the command a terminal (with -i: interactive)" })
      .parserConfiguration({ "populate--": true })
      .example("$0 exec -n shop web -- ls /", "one command, its output and exit code")
      .example("$0 exec -n shop web#2 -it -- sh", "a shell in slot 2"),
  handler: async (args) => {
    const { service, slot } = parseInstanceTarget(args.target);
    const command = [...(args.command ?? []), ...(((args as unknown as Record<string, unknown>)["--"] as string[] | undefined) ?? [])].map(String);
    if (command.length === 0) throw new InvalidArgumentError("say which command to run: ployzctl exec -n NS SERVICE -- CMD ARGS…");
    const terminal = args.tty && args.interactive;
    if (terminal && !process.stdin.isTTY) throw new InvalidArgumentError("the input device is not a TTY: -it needs a terminal", { hint: "use -i alone to pipe input to the command" });
    const raw = terminal && process.stdin.isTTY;
    if (raw) process.stdin.setRawMode(true);
    try {
      const code = await withClient(args, (client) =>
        client.exec(
          { namespace: args.namespace, service, ...(slot === undefined ? {} : { slot }), command, tty: args.tty, stdin: args.interactive, user: `${userInfo().username}@${hostname()}` },
          {
            stdin: process.stdin,
            stdout: process.stdout,
            stderr: process.stderr,
            size: () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 }),
            onResize: (listener) => {
              process.stdout.on("resize", listener);
              return () => process.stdout.off("resize", listener);
            },
            onSignal: (listener) => {
              const handlers = SIGNALS.map((signal) => [signal, () => listener(signal)] as const);
              for (const [signal, handler] of handlers) process.on(signal, handler);
              return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
            },
          },
        ),
      );
      process.exitCode = code;
    } finally {
      if (raw) process.stdin.setRawMode(false);
      // The CLI is done with its stdin: let the process end (a TTY or pipe left open keeps it alive).
      process.stdin.destroy();
    }
  },
};
