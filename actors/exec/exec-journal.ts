import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/**
 * The exec sessions this machine has running, one small file each under `<data>/exec/`, so that a
 * ployzd killed in the middle of one (its Docker connection gone, the command left running, as
 * Docker leaves it) can end the command when it starts again.
 */
export const execJournalEntrySchema = z.object({
  session: z.string(),
  execId: z.string(),
  containerId: z.string(),
  namespace: z.string(),
  service: z.string(),
  slot: z.number(),
  who: z.string(),
  command: z.string(),
  tty: z.boolean(),
  startedAt: z.string(),
});
export type ExecJournalEntry = z.infer<typeof execJournalEntrySchema>;

export function execJournal(dir: string) {
  const file = (session: string) => join(dir, `${session}.json`);
  return {
    add(entry: ExecJournalEntry): void {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // whole or absent to a reader (a power loss takes the command with it anyway: no fsync)
      writeFileSync(`${file(entry.session)}.tmp`, JSON.stringify(entry), { mode: 0o600 });
      renameSync(`${file(entry.session)}.tmp`, file(entry.session));
    },
    remove(session: string): void {
      rmSync(file(session), { force: true });
    },
    /** Every entry left; a file that does not parse is returned as such, to be reported and removed. */
    list(): Array<{ session: string; entry?: ExecJournalEntry; error?: string }> {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return []; // no exec ever ran here
        throw error;
      }
      return names
        .filter((n) => n.endsWith(".json"))
        .map((n) => {
          const session = n.slice(0, -".json".length);
          try {
            return { session, entry: execJournalEntrySchema.parse(JSON.parse(readFileSync(join(dir, n), "utf8"))) };
          } catch (error) {
            return { session, error: error instanceof Error ? error.message : String(error) };
          }
        });
    },
  };
}
export type ExecJournal = ReturnType<typeof execJournal>;
