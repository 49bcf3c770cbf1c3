/**
 * Credit-based flow control for a byte stream over core NATS: the receiver lets the sender have
 * `window` bytes in flight, and grants more as it consumes them (writes them out). A sender out
 * of credit pauses its source, so a slow reader slows the writer down to its own pace instead of
 * making anyone buffer without bound.
 */

/** The sender's side: how much it may still send. */
export class SendWindow {
  private available: number;

  constructor(window: number) {
    this.available = window;
  }

  /** Records `bytes` sent; true while more may be sent (the last frame may overdraw by its size). */
  consume(bytes: number): boolean {
    this.available -= bytes;
    return this.available > 0;
  }

  /** Adds credit; true when sending may go on. */
  grant(bytes: number): boolean {
    this.available += bytes;
    return this.available > 0;
  }

  get open(): boolean {
    return this.available > 0;
  }

  get credit(): number {
    return this.available;
  }
}

/** The receiver's side: grants credit back in batches (a quarter of the window), not per frame. */
export class ReceiveWindow {
  private consumed = 0;
  private outstanding = 0;

  constructor(readonly window: number) {}

  /** Records a frame of `bytes` received; false when the sender overran its credit by more than a frame. */
  received(bytes: number, maxFrame: number): boolean {
    this.outstanding += bytes;
    return this.outstanding <= this.window + maxFrame;
  }

  /** Records `bytes` consumed (written out); returns the credit to grant now, or 0 to wait for more. */
  done(bytes: number): number {
    this.outstanding -= bytes;
    this.consumed += bytes;
    if (this.consumed < this.window / 4) return 0;
    const grant = this.consumed;
    this.consumed = 0;
    return grant;
  }
}
