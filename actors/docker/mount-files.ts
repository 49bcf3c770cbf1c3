import { chmodSync, chownSync, writeFileSync } from "node:fs";

/** Mode and owner of a file mounted into a container. */
export interface MountFileOwnership {
  mode: number;
  uid?: number | undefined;
  gid?: number | undefined;
}

/**
 * Writes a config or secret file that is bind-mounted into a container: the mode exactly as
 * asked (not reduced by the umask) and, when given, the owner (numeric ids, root when only one
 * of them is given, as Compose defaults them).
 */
export function writeMountFile(path: string, content: string | Uint8Array, ownership: MountFileOwnership): void {
  writeFileSync(path, content, { mode: 0o600 });
  if (ownership.uid !== undefined || ownership.gid !== undefined) chownSync(path, ownership.uid ?? 0, ownership.gid ?? 0);
  chmodSync(path, ownership.mode);
}
