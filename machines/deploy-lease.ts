import { errorText } from "../model/errors.ts";
import { assign, fromPromise, sendParent, setup } from "xstate";

/** What the lease's holder is, as stored in KV `leases`. */
export interface LeaseHolder {
  holder: string;
  deployId: string;
  since: string;
  /** Which run of the holder's ployzd took it: a later run may break it (the earlier one is gone). */
  incarnation: string;
}

export interface DeployLeaseInput {
  namespace: string;
  value: LeaseHolder;
  /** Wall-clock source (ms); tests pass the simulated clock's. */
  now: () => number;
  /** The bucket's max age: a lease not renewed for this long may be gone. */
  ttlMs: number;
  renewEveryMs: number;
  /** After a renewal the store did not answer, try again this soon. */
  retryEveryMs: number;
}

export interface DeployLeaseContext extends DeployLeaseInput {
  revision: number;
  token: number | undefined;
  /** When the lease was last written by us (acquired or renewed). */
  renewedAt: number;
  /** Renewals in a row the store did not answer. */
  misses: number;
  lastError: string | undefined;
}

/** Told to the holder (the parent). */
export type DeployLeaseParentEvent =
  | { type: "LEASE_ACQUIRED"; token: number; warnings: string[] }
  | { type: "LEASE_REFUSED"; error: unknown }
  | { type: "LEASE_LOST"; reason: string };

export type DeployLeaseEvent = { type: "RELEASE" };

/** How close to the max age a lease that could not be renewed is given up: clocks and the store's own timer differ. */
const EXPIRY_MARGIN_MS = 2_000;

/**
 * A namespace's deploy lease, held for one coordinator: acquiring (KV create, then a fence on
 * `commits.<ns>` whose sequence is the token) → held ⇄ renewing → lost | released. A renewal the
 * store did not answer is retried; the lease counts as lost only once the store may have
 * expired it (no renewal for its max age), or when the stored entry is someone else's. A lost
 * lease only matters before the commit: the fence, not the lease, guards every write.
 */
export const deployLeaseMachine = setup({
  types: {
    context: {} as DeployLeaseContext,
    input: {} as DeployLeaseInput,
    events: {} as DeployLeaseEvent,
  },
  actors: {
    acquire: fromPromise<{ revision: number; token: number; warnings: string[] }, { namespace: string; value: LeaseHolder }>(async () => {
      throw new Error("acquire not provided");
    }),
    renew: fromPromise<number, { namespace: string; value: LeaseHolder; revision: number }>(async () => {
      throw new Error("renew not provided");
    }),
    release: fromPromise<void, { namespace: string; value: LeaseHolder; revision: number }>(async () => {}),
  },
  guards: {
    /** The stored entry is gone or someone else's: a LeaseLostError from `renew`. */
    taken: (_, params: { error: unknown }) => (params.error as { code?: string } | undefined)?.code === "lease-lost",
    /** No successful renewal for nearly the bucket's max age: the store may have expired the lease. */
    mayHaveExpired: ({ context }) => context.now() - context.renewedAt >= context.ttlMs - EXPIRY_MARGIN_MS,
  },
  delays: {
    renewEvery: ({ context }) => context.renewEveryMs,
    retryEvery: ({ context }) => context.retryEveryMs,
  },
}).createMachine({
  id: "deployLease",
  context: ({ input }) => ({ ...input, revision: 0, token: undefined, renewedAt: input.now(), misses: 0, lastError: undefined }),
  initial: "acquiring",
  states: {
    acquiring: {
      invoke: {
        src: "acquire",
        input: ({ context }) => ({ namespace: context.namespace, value: context.value }),
        onDone: {
          target: "held",
          actions: [
            assign({ revision: ({ event }) => event.output.revision, token: ({ event }) => event.output.token, renewedAt: ({ context }) => context.now() }),
            sendParent(({ event }): DeployLeaseParentEvent => ({ type: "LEASE_ACQUIRED", token: event.output.token, warnings: event.output.warnings })),
          ],
        },
        onError: {
          target: "refused",
          actions: [assign({ lastError: ({ event }) => errorText(event.error) }), sendParent(({ event }): DeployLeaseParentEvent => ({ type: "LEASE_REFUSED", error: event.error }))],
        },
      },
    },
    held: {
      on: { RELEASE: "releasing" },
      initial: "waiting",
      states: {
        waiting: { after: { renewEvery: "renewing" } },
        retrying: { after: { retryEvery: "renewing" } },
        renewing: {
          invoke: {
            src: "renew",
            input: ({ context }) => ({ namespace: context.namespace, value: context.value, revision: context.revision }),
            onDone: {
              target: "waiting",
              actions: assign({ revision: ({ event }) => event.output, renewedAt: ({ context }) => context.now(), misses: 0, lastError: undefined }),
            },
            onError: [
              { guard: { type: "taken", params: ({ event }) => ({ error: event.error }) }, target: "#deployLease.lost", actions: assign({ lastError: ({ event }) => errorText(event.error) }) },
              {
                guard: "mayHaveExpired",
                target: "#deployLease.lost",
                actions: assign({ lastError: ({ context, event }) => `not renewed for ${context.now() - context.renewedAt} ms (${errorText(event.error)}): the store may have expired it` }),
              },
              { target: "retrying", actions: assign({ misses: ({ context }) => context.misses + 1, lastError: ({ event }) => errorText(event.error) }) },
            ],
          },
        },
      },
    },
    lost: {
      entry: sendParent(({ context }): DeployLeaseParentEvent => ({ type: "LEASE_LOST", reason: context.lastError ?? "lost" })),
      // The holder still says RELEASE when it ends; there is nothing of ours left to release.
      on: { RELEASE: "released" },
    },
    releasing: {
      invoke: {
        src: "release",
        input: ({ context }) => ({ namespace: context.namespace, value: context.value, revision: context.revision }),
        onDone: "released",
        // Not released: the bucket's max age frees it; the coordinator reports this as a warning.
        onError: { target: "released", actions: assign({ lastError: ({ event }) => `release failed: ${errorText(event.error)}` }) },
      },
    },
    refused: { type: "final" },
    released: { type: "final" },
  },
  output: ({ context }) => ({ lastError: context.lastError }),
});
