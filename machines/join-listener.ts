import { assign, fromCallback, setup } from "xstate";
import { outstandingInvites, type InviteRecord } from "../model/invite.ts";

export type JoinListenerEvent =
  /** Every invite record (KV invites), after the load and after each change. */
  | { type: "INVITES"; invites: InviteRecord[] }
  | { type: "WATCH_FAILED"; reason: string }
  | { type: "LISTEN_FAILED"; reason: string };

export interface JoinListenerInput {
  name: string;
  machineId: string;
  now?: () => number;
}

export interface JoinListenerContext {
  machineId: string;
  now: () => number;
  invites: InviteRecord[];
  /** This machine's invites that can still be used: the listener is open while there is one. */
  outstanding: InviteRecord[];
  failure: string | undefined;
}

const outstanding = (context: Pick<JoinListenerContext, "machineId" | "now">, invites: InviteRecord[]) => outstandingInvites(invites, context.machineId, context.now());

/**
 * The join listener: open (on the underlay) only while this machine has an invite that can still
 * be used — from `machine invite` until the invite is used or expires — closed otherwise. Follows
 * KV invites, so it opens after a restart too. A failed watch or listener ends it in `crashed`
 * (its supervisor restarts it).
 */
export const joinListenerMachine = setup({
  types: {
    context: {} as JoinListenerContext,
    events: {} as JoinListenerEvent,
    input: {} as JoinListenerInput,
    output: {} as { error: string },
  },
  actors: {
    watchInvites: fromCallback<JoinListenerEvent>(() => {
      throw new Error("watchInvites not provided");
    }),
    listen: fromCallback<JoinListenerEvent>(() => {
      throw new Error("listen not provided");
    }),
  },
  delays: {
    /** Until the next outstanding invite expires (then the set is looked at again). */
    untilNextExpiry: ({ context }) => {
      const next = Math.min(...context.outstanding.map((i) => Date.parse(i.expiresAt)));
      return Number.isFinite(next) ? Math.max(0, next - context.now()) + 10 : 60_000;
    },
  },
  guards: {
    anyOutstanding: ({ context }) => context.outstanding.length > 0,
    noneOutstanding: ({ context }) => context.outstanding.length === 0,
  },
  actions: {
    record: assign(({ context }, params: { invites: InviteRecord[] }) => ({ invites: params.invites, outstanding: outstanding(context, params.invites) })),
    prune: assign(({ context }) => ({ outstanding: outstanding(context, context.invites) })),
    fail: assign((_, params: { failure: string }) => ({ failure: params.failure })),
  },
}).createMachine({
  id: "joinListener",
  context: ({ input }) => ({ machineId: input.machineId, now: input.now ?? Date.now, invites: [], outstanding: [], failure: undefined }),
  initial: "watching",
  states: {
    watching: {
      invoke: { src: "watchInvites", onError: { target: "crashed", actions: { type: "fail", params: ({ event }) => ({ failure: `invites watch failed: ${String(event.error)}` }) } } },
      on: {
        WATCH_FAILED: { target: "crashed", actions: { type: "fail", params: ({ event }) => ({ failure: `invites watch failed: ${event.reason}` }) } },
        INVITES: { target: ".deciding", actions: { type: "record", params: ({ event }) => ({ invites: event.invites }) } },
      },
      initial: "closed",
      states: {
        deciding: { always: [{ guard: "anyOutstanding", target: "open" }, { target: "closed" }] },
        closed: {},
        open: {
          invoke: { src: "listen", onError: { target: "#joinListener.crashed", actions: { type: "fail", params: ({ event }) => ({ failure: `join listener: ${String(event.error)}` }) } } },
          on: {
            LISTEN_FAILED: { target: "#joinListener.crashed", actions: { type: "fail", params: ({ event }) => ({ failure: event.reason }) } },
            // A change of the invites keeps the listener (no re-entry of `open`); only the expiry timer starts afresh.
            INVITES: { target: ".counting", reenter: true, actions: { type: "record", params: ({ event }) => ({ invites: event.invites }) } },
          },
          always: { guard: "noneOutstanding", target: "closed" },
          initial: "counting",
          states: {
            counting: { after: { untilNextExpiry: { target: "counting", reenter: true, actions: "prune" } } },
          },
        },
      },
    },
    crashed: { type: "final" },
  },
  output: ({ context }) => ({ error: context.failure ?? "joinListener ended" }),
});
