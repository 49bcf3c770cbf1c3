import { withCleanup, type Cleanup } from "./cleanup.ts";

/** What a benchmark body needs to stop cleanly on SIGINT/SIGTERM. */
export interface Interruption {
  /**
   * Resolves at once, unless a signal has arrived: then it never resolves, so the body starts
   * nothing new while the Cleanup (started by the signal) removes everything and exits.
   */
  checkpoint(): Promise<void>;
}

/**
 * Notes SIGINT/SIGTERM for `checkpoint`, and keeps a repeated signal from ending the process
 * while the clean-up runs. `withCleanup` answers the first signal with a `process.once`
 * listener; under `npx tsx` the tsx parent, which gets the terminal's Ctrl-C too, sends the
 * signal again when the benchmark has not acknowledged it within 30 ms (busy deploying, or a
 * loaded machine). That second signal found no listener, and tsx's own handler then exited at
 * once, skipping the clean-up: a swarm, a daemon and containers were left behind that way.
 * (`node --import tsx bench/….ts` has no relaying parent at all.)
 */
function watchInterruption(cleanup: Cleanup): Interruption & { interrupted: () => boolean } {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received++ > 0) process.stderr.write(`bench: ${signal} again, still cleaning up\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  cleanup.add("stop watching signals", () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
  return { checkpoint: () => (received > 0 ? new Promise<void>(() => {}) : Promise.resolve()), interrupted: () => received > 0 };
}

/**
 * `withCleanup`, made safe against what an interruption does to a running body: the body is
 * given `checkpoint`, and once a signal has arrived its outcome is dropped (it never settles),
 * because an operation whose resources the clean-up is tearing down fails, and that failure
 * would otherwise start a second clean-up pass and end the process (runMain) while the first
 * pass is still removing things. The signal's own pass ends the process when it is done.
 */
export async function withInterruptibleCleanup<T>(body: (cleanup: Cleanup, interruption: Interruption) => Promise<T>): Promise<T> {
  return await withCleanup(async (cleanup) => {
    const interruption = watchInterruption(cleanup);
    const park = () => new Promise<never>(() => {});
    let result: T;
    try {
      result = await body(cleanup, interruption);
    } catch (error) {
      if (interruption.interrupted()) return await park();
      throw error;
    }
    if (interruption.interrupted()) return await park();
    return result;
  });
}

/**
 * Runs `work`, then `undo` once it has settled (succeeded or not). An interruption while `work`
 * runs makes the Cleanup wait for it and then undo it, so nothing it creates is left behind.
 */
export async function withUndo<T>(cleanup: Cleanup, what: string, work: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  const pending = work();
  const release = cleanup.add(what, async () => {
    await pending.catch(() => undefined);
    await undo();
  });
  try {
    return await pending;
  } finally {
    await release();
  }
}
