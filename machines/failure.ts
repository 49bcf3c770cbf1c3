/**
 * Why an operation failed, kept typed in a statechart's context: the phase it was in, the typed
 * error's code (`lease-held`, `fenced`, `deploy-failed` … or `internal`), its message and, when
 * it has one, its hint (what to do next).
 */
export interface Failure {
  phase: string;
  code: string;
  reason: string;
  hint?: string;
}

/** The Failure of an error thrown in `phase`; typed errors keep their code and hint. */
export function failureOf(phase: string, error: unknown): Failure {
  const e = error as { message?: unknown; code?: unknown; hint?: unknown } | undefined;
  const reason = typeof e?.message === "string" ? e.message : String(error);
  const code = typeof e?.code === "string" ? e.code : "internal";
  return typeof e?.hint === "string" ? { phase, code, reason, hint: e.hint } : { phase, code, reason };
}
