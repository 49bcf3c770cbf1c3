import { createWebSocketInspector } from "@statelyai/inspect";
import type { InspectionEvent } from "xstate";
import { summarizeContext } from "../model/actor-table.ts";

/** An inspection listener that forwards to the Stately inspector, and how to stop it. */
export interface StatelyInspect {
  url: string;
  inspect: (event: InspectionEvent) => void;
  stop(): void;
}

/**
 * `ployzd run --inspect`: forwards every XState inspection event to a Stately inspector bridge
 * over WebSocket, for browser visualization while debugging. Contexts go through the same
 * redaction as `ployz top` (scalars only, secrets redacted), and so do events: an event keeps its
 * type and its scalar fields, never an actor's input or output (a deploy's spec carries env values
 * and config contents; promise actors keep their input in their snapshot). The adapter retries a missing bridge
 * every 5 s and holds a bounded number of events meanwhile.
 */
export function startStatelyInspect(url: string): StatelyInspect {
  const inspector = createWebSocketInspector({ url, sanitizeContext: (context) => summarizeContext(context) ?? {}, sanitizeEvent: sanitizeInspectedEvent, serialize: (event) => withoutPayloads(event as { snapshot?: unknown }) as typeof event });
  return {
    url,
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}

/** An inspected event as the inspector may see it: its type and scalar fields, secrets redacted. */
export function sanitizeInspectedEvent(event: { type: string }): { type: string } {
  return { ...(summarizeContext(event) ?? {}), type: event.type };
}

/** An inspection event without what snapshots carry beside their context: a promise actor's input, an actor's output. */
export function withoutPayloads<T extends { snapshot?: unknown }>(event: T): T {
  if (!event.snapshot || typeof event.snapshot !== "object") return event;
  const { input: _input, output: _output, error, ...snapshot } = event.snapshot as Record<string, unknown>;
  return { ...event, snapshot: { ...snapshot, ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }) } };
}
