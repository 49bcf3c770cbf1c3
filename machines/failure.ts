/**
 * Why an operation failed, kept typed in a statechart's context: the phase it was in, the typed
 * error's code (`lease-held`, `fenced`, `deploy-failed` … or `internal`) and its message.
 */
export interface Failure {
  phase: string;
  code: string;
  reason: string;
}

/** The Failure of an error thrown in `phase`; typed errors keep their code. */
export function failureOf(phase: string, error: unknown): Failure {
  const e = error as { message?: unknown; code?: unknown } | undefined;
  const reason = typeof e?.message === "string" ? e.message : String(error);
  const code = typeof e?.code === "string" ? e.code : "internal";
  return { phase, code, reason };
}
