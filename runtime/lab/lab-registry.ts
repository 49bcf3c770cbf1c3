import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAB_REGISTRY_DIR } from "./lab-names.ts";

/** Records that lab `id` lives in `dir` (see LAB_REGISTRY_DIR). */
export function registerLab(id: string, dir: string, registry = LAB_REGISTRY_DIR): void {
  mkdirSync(registry, { recursive: true, mode: 0o700 });
  writeFileSync(join(registry, id), `${dir}\n`, { mode: 0o600 });
}

export function unregisterLab(id: string, registry = LAB_REGISTRY_DIR): void {
  rmSync(join(registry, id), { force: true });
}

/** Every registered lab: its id and directory. */
export function registeredLabs(registry = LAB_REGISTRY_DIR): Array<{ id: string; dir: string }> {
  let entries: string[];
  try {
    entries = readdirSync(registry);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries.filter((e) => /^[0-9a-f]{6}$/.test(e)).map((id) => ({ id, dir: readFileSync(join(registry, id), "utf8").trim() }));
}
