import type { AnyActorRef, InspectionEvent } from "xstate";
import type { InspectionRecord } from "../model/actor-table.ts";

/** Turns an XState inspection event into a plain record for the ActorTable (or ignores it). */
export function toInspectionRecord(event: InspectionEvent, now: number): InspectionRecord | undefined {
  const ref = event.actorRef as AnyActorRef & { _parent?: AnyActorRef; src?: unknown; logic?: { id?: string } };
  switch (event.type) {
    case "@xstate.actor":
      return {
        kind: "actor",
        at: now,
        sessionId: ref.sessionId,
        id: ref.id,
        ...(ref._parent ? { parentSessionId: ref._parent.sessionId } : {}),
        src: typeof ref.src === "string" ? ref.src : (ref.logic?.id ?? ref.id),
      };
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
