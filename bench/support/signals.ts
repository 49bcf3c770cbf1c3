import type { Cleanup } from "./cleanup.ts";

/**
 * Keeps a repeated SIGINT/SIGTERM from ending the process while its clean-up runs.
 *
 * `withCleanup` answers the first signal with a `process.once` listener. Under `npx tsx` the tsx
 * parent, which receives the terminal's Ctrl-C too, sends the signal to the benchmark again when
 * the benchmark has not acknowledged it within 30 ms (it is busy: deploying, or on a loaded
 * machine). That second signal finds no listener left, and tsx's own handler then exits at once,
 * skipping the clean-up: a swarm, a daemon and containers were left behind that way. This
 * listener stays until the clean-up is over. (`node --import tsx bench/….ts` avoids the relay.)
 */
export function surviveRepeatedSignals(cleanup: Cleanup): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received++ > 0) process.stderr.write(`bench: ${signal} again, still cleaning up\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  cleanup.add("stop holding signals", () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
}
