import type { AnyActorRef, InspectionEvent } from "xstate";
import type { InspectionRecord } from "../model/actor-table.ts";

/** The statechart id of an actor's logic, when the logic is a state machine. */
function chartOf(logic: unknown): string | undefined {
  if (!logic || typeof logic !== "object" || !("root" in logic)) return undefined;
  const id = (logic as { id?: unknown }).id;
  return typeof id === "string" ? id : undefined;
}

/** Turns an XState inspection event into a plain record for the ActorTable (or ignores it). */
export function toInspectionRecord(event: InspectionEvent, now: number): InspectionRecord | undefined {
  const ref = event.actorRef as AnyActorRef & { _parent?: AnyActorRef; src?: unknown; logic?: { id?: string } };
  switch (event.type) {
    case "@xstate.actor": {
      const chart = chartOf(ref.logic);
      // A root actor has no id of its own (XState uses the session id): name it after its logic.
      const id = !ref._parent && ref.id === ref.sessionId ? (chart ?? ref.id) : ref.id;
      return {
        kind: "actor",
        at: now,
        sessionId: ref.sessionId,
        id,
        ...(ref._parent ? { parentSessionId: ref._parent.sessionId } : {}),
        src: typeof ref.src === "string" ? ref.src : (ref.logic?.id ?? ref.id),
        ...(chart ? { chart } : {}),
      };
    }
    case "@xstate.snapshot": {
      const snapshot = event.snapshot as { status: string; value?: unknown; context?: unknown; error?: unknown };
      return {
        kind: "snapshot",
        at: now,
        sessionId: ref.sessionId,
        status: snapshot.status,
        stateValue: snapshot.value,
        context: snapshot.context,
        error: snapshot.error,
        eventType: event.event.type,
      };
    }
    case "@xstate.event":
      return { kind: "event", at: now, targetSessionId: ref.sessionId, eventType: event.event.type };
    default:
      return undefined;
  }
}
