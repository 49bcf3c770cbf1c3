/**
 * Orders strings by UTF-16 code units, the same in every process. `localeCompare` depends on the
 * process locale (and ICU data), so anything hashed or compared across machines must use this.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
