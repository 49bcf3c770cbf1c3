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
  /**
   * Stops the process and starts it again at once (its config changed in a way it cannot reload),
   * without counting a crash; resolves with the new one once it is ready.
   */
  restart(reason: string): Promise<H>;
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
  /** The previous process being stopped: a new one starts only once it is gone (its port is free). */
  let stopping: Promise<void> = Promise.resolve();
  const restarted: Array<{ resolve: (handle: H) => void; reject: (error: unknown) => void }> = [];
  const child = fromPromise<void, { name: string }>(async ({ signal }) => {
    let handle: H;
    try {
      await stopping;
      handle = await options.start();
    } catch (error) {
      if (starts === 0) rejectFirst(error);
      for (const waiter of restarted.splice(0)) waiter.reject(error);
      throw error;
    }
    current = handle;
    for (const waiter of restarted.splice(0)) waiter.resolve(handle);
    if (starts++ === 0) resolveFirst(handle);
    else {
      options.log.warn({ process: options.name, pid: handle.pid }, `${options.name} started again`);
      options.onRestarted?.(handle);
    }
    const stopped = new Promise<"stopped">((resolve) =>
      signal.addEventListener(
        "abort",
        () => {
          // Set at once (abort is synchronous), so a start that follows right away waits for it.
          if (current === handle) current = undefined;
          stopping = leaveRunning ? Promise.resolve() : handle.stop();
          resolve("stopped");
        },
        { once: true },
      ),
    );
    const ended = await Promise.race([handle.exited, stopped]);
    if (ended === "stopped") {
      await stopping;
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
    restart(reason) {
      const next = new Promise<H>((resolve, reject) => restarted.push({ resolve, reject }));
      options.log.warn({ process: options.name, reason }, `starting ${options.name} again`);
      actor.send({ type: "REFRESH", reason });
      return next;
    },
    async stop(stopOptions = {}) {
      leaveRunning = stopOptions.leaveRunning ?? false;
      const handle = current;
      actor.send({ type: "STOP" });
      if (handle && !leaveRunning) await handle.stop();
    },
  };
}
