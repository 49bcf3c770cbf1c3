import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The secrets of the invites a machine made: one 0600 file per invite under its data directory.
 * Only the inviter serves its joins, so the secret never needs to leave it (KV `invites` keeps a
 * hash). A file goes when its invite is used.
 */
export interface InviteSecrets {
  keep(invite: string, secret: string): void;
  /** The secret, or undefined when this machine did not make the invite. */
  read(invite: string): string | undefined;
  forget(invite: string): void;
}

export function inviteSecretsIn(dir: string): InviteSecrets {
  const file = (invite: string) => {
    if (!/^[0-9a-f]{16}$/.test(invite)) throw new Error(`not an invite id: ${JSON.stringify(invite)}`);
    return join(dir, `${invite}.secret`);
  };
  return {
    keep(invite, secret) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(file(invite), `${secret}\n`, { mode: 0o600, flag: "wx" }); // ids are random: never overwrite
    },
    read(invite) {
      try {
        return readFileSync(file(invite), "utf8").trim();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    forget: (invite) => rmSync(file(invite), { force: true }),
  };
}
