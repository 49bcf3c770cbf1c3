/**
 * Orders strings by UTF-16 code units, the same in every process. `localeCompare` depends on the
 * process locale (and ICU data), so anything hashed or compared across machines must use this;
 * its first call also builds an ICU collator (5–25 ms, which ployzd's start used to pay).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
