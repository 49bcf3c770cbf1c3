import { createActor, fromPromise, type AnyActorRef } from "xstate";
import { supervisedChildMachine } from "../machines/supervised-child.ts";
import type { Logger } from "./logger.ts";

/** A process as supervision needs it: when it exits, and how to stop it. */
export interface RunningProcess {
  pid: number;
  exited: Promise<{ code: number | null; signal?: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface SupervisedProcess<H extends RunningProcess> {
  /** The first start (or adoption): resolves once it is ready, rejects with its error. */
  first: Promise<H>;
  /** The supervisor's statechart (machines/supervised-child.ts), for `status` and `top`. */
  actor: AnyActorRef;
  /** The process running now (undefined between an exit and the next start). */
  current(): H | undefined;
  /** Stops supervising; stops the process too unless `leaveRunning`. */
  stop(options?: { leaveRunning?: boolean }): Promise<void>;
}

/**
 * Keeps a process of ployzd's (nats-server, Caddy) running: `start` starts or adopts it; when it
 * exits, it is started again after the supervision backoff (250 ms doubling to 15 s), and after
 * more than 5 exits in a minute it is given up (`failed`), which `onFailed` hears. `onRestarted`
 * hears every later start, for what depends on it (the gateway reloads into a new Caddy).
 */
export function superviseProcess<H extends RunningProcess>(options: {
  name: string;
  start: () => Promise<H>;
  log: Logger;
  onRestarted?: (handle: H) => void;
  onFailed: (error: string) => void;
}): SupervisedProcess<H> {
  let current: H | undefined;
  let starts = 0;
  let resolveFirst!: (handle: H) => void;
  let rejectFirst!: (error: unknown) => void;
  const first = new Promise<H>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  let leaveRunning = false;
  const child = fromPromise<void, { name: string }>(async ({ signal }) => {
    let handle: H;
    try {
      handle = await options.start();
    } catch (error) {
      if (starts === 0) rejectFirst(error);
      throw error;
    }
    current = handle;
    if (starts++ === 0) resolveFirst(handle);
    else {
      options.log.warn({ process: options.name, pid: handle.pid }, `${options.name} started again`);
      options.onRestarted?.(handle);
    }
    const stopped = new Promise<"stopped">((resolve) => signal.addEventListener("abort", () => resolve("stopped"), { once: true }));
    const ended = await Promise.race([handle.exited, stopped]);
    if (ended === "stopped") {
      if (!leaveRunning) await handle.stop();
      return;
    }
    if (current === handle) current = undefined;
    options.log.error({ process: options.name, pid: handle.pid, code: ended.code, signal: ended.signal }, `${options.name} exited unexpectedly`);
    throw new Error(`${options.name} exited (${ended.signal ?? `code ${ended.code}`})`);
  });
  const actor = createActor(supervisedChildMachine.provide({ actors: { child: child as never } }), { input: { name: options.name, now: Date.now } });
  actor.subscribe((snapshot) => {
    if (snapshot.value === "failed") options.onFailed(snapshot.context.lastError ?? `${options.name} failed`);
  });
  actor.start();
  first.catch(() => actor.stop()); // a first start that failed is the daemon's start-up error, not a crash loop
  return {
    first,
    actor,
    current: () => current,
    async stop(stopOptions = {}) {
      leaveRunning = stopOptions.leaveRunning ?? false;
      const handle = current;
      actor.send({ type: "STOP" });
      if (handle && !leaveRunning) await handle.stop();
    },
  };
}
