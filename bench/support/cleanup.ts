/**
 * What a benchmark must undo — processes, temporary directories — run in reverse order when it
 * ends, fails, or is interrupted (SIGINT/SIGTERM), so a benchmark never leaves a daemon behind.
 */
export class Cleanup {
  private readonly steps: Array<{ what: string; run: () => unknown }> = [];

  /** Registers `run`; the returned function runs it now (once), unregisters it, and gives its result. */
  add<R>(what: string, run: () => Promise<R> | R): () => Promise<R | undefined> {
    const step = { what, run };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index === -1) return undefined;
      this.steps.splice(index, 1);
      return await run();
    };
  }

  /**
   * Owns a resource from the moment it starts starting: an interruption while it starts waits
   * for it and then disposes it, so nothing spawned half-way is left behind.
   */
  async own<T, R>(what: string, starting: Promise<T>, dispose: (value: T) => Promise<R> | R): Promise<{ value: T; release: () => Promise<R | undefined> }> {
    const release = this.add(what, async () => {
      let value: T;
      try {
        value = await starting;
      } catch {
        return undefined; // it failed to start and cleaned up after itself
      }
      return await dispose(value);
    });
    try {
      return { value: await starting, release };
    } catch (error) {
      await release();
      throw error;
    }
  }

  /** Runs every remaining step, newest first; a failing step is reported and the rest still run. */
  async runAll(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`bench: clean-up "${step.what}" failed: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  }
}

/** Runs `body` with a Cleanup that runs afterwards, also when the process is interrupted. */
export async function withCleanup<T>(body: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    void cleanup.runAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await body(cleanup);
  } finally {
    await cleanup.runAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
