import type { CommandModule } from "yargs";
import { devLogs, resolveDevDataDir } from "../../../runtime/dev.ts";
import type { GlobalArgs } from "../../args.ts";
import { printLines } from "../../output.ts";
import { dataDirOption, type DevArgs } from "./up.ts";

interface LogsArgs extends DevArgs {
  follow: boolean;
  lines: number;
  raw: boolean;
}

/** `ployzctl dev logs`: the daemon's structured log, readable or raw JSON. */
export const devLogsCommand: CommandModule<GlobalArgs, LogsArgs> = {
  command: "logs",
  describe: "show the dev daemon's log",
  builder: (y) =>
    dataDirOption(y)
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep printing new lines" })
      .option("lines", { alias: "n", type: "number", default: 100, describe: "how many of the last lines" })
      .option("raw", { type: "boolean", default: false, describe: "print the JSON lines as they are" }),
  handler: async (args) => {
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    await devLogs({
      dataDir: resolveDevDataDir(process.env, args["data-dir"]),
      lines: args.lines,
      follow: args.follow,
      signal: controller.signal,
      onLine: (line) => printLines(args.raw || args.json ? line : formatLogLine(line)),
    });
  },
};

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** `time LEVEL msg key=value …` from one pino JSON line (unparseable lines pass through). */
export function formatLogLine(line: string): string {
  try {
    const { time, level, msg, pid: _pid, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    return `${String(time)} ${(LEVELS[level as number] ?? String(level)).padEnd(5)} ${String(msg)}${fields ? `  ${fields}` : ""}`;
  } catch {
    return line;
  }
}
