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
 * redaction as `ployz top` (scalars only, secrets redacted). The adapter retries a missing bridge
 * every 5 s and holds a bounded number of events meanwhile.
 */
export function startStatelyInspect(url: string): StatelyInspect {
  const inspector = createWebSocketInspector({ url, sanitizeContext: (context) => summarizeContext(context) ?? {} });
  return {
    url,
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}
