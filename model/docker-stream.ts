/**
 * Docker's multiplexed attach stream (no TTY): frames of `[stream u8][0 0 0][size u32 BE][payload]`,
 * stream 1 = stdout, 2 = stderr. Chunks from the socket cut frames anywhere, so the demuxer keeps
 * what it has of an unfinished header or payload until the rest arrives.
 */
export class DockerStreamDemuxer {
  private header = new Uint8Array(8);
  private headerHave = 0;
  private stream: 1 | 2 = 1;
  private remaining = 0;

  /** The payload pieces in `chunk`, in order, each tagged with its stream. */
  push(chunk: Uint8Array): Array<{ stream: 1 | 2; bytes: Uint8Array }> {
    const out: Array<{ stream: 1 | 2; bytes: Uint8Array }> = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.headerHave, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerHave);
        this.headerHave += take;
        at += take;
        if (this.headerHave < 8) break;
        this.headerHave = 0;
        const view = new DataView(this.header.buffer);
        const kind = view.getUint8(0);
        // 0 is stdin (never sent back); anything else is taken as stdout rather than dropped.
        this.stream = kind === 2 ? 2 : 1;
        this.remaining = view.getUint32(4);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      out.push({ stream: this.stream, bytes: chunk.subarray(at, at + take) });
      this.remaining -= take;
      at += take;
    }
    return out;
  }

  /** True when the stream ended in the middle of a frame. */
  get partial(): boolean {
    return this.remaining > 0 || this.headerHave > 0;
  }
}
