/**
 * JSON text as a value, or undefined when it is not JSON: for stored records, whose schema check
 * that follows reports (naming the key or subject) what does not parse — undefined fails it.
 */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
