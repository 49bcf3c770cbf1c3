import { createInbox, RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import { requestJson } from "../actors/nats/request.ts";
import { ExecSessionLostError } from "../model/errors.ts";
import { EXEC_INPUT_WINDOW, EXEC_OUTPUT_WINDOW, EXEC_PING_EVERY_MS, EXEC_SERVER_SILENCE_MS, execStartedSchema, type ExecRequest } from "../model/exec.ts";
import { ReceiveWindow, SendWindow } from "../model/flow-window.ts";
import { CHANNEL, chunks, decodeFrame, encodeControl, encodeData, FrameSequence, MAX_DATA_FRAME_BYTES, type Control } from "../model/stream-frames.ts";
import { subjects } from "../model/subjects.ts";

/** Where an exec's bytes come from and go to: the CLI's own stdio, or a benchmark's streams. */
export interface ExecIo {
  /** With `-i`: read in flowing mode, paused while the participant grants no credit. */
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** With `-t`: the terminal's size now, and a way to hear it change (returns the way to stop). */
  size?: () => { cols: number; rows: number };
  onResize?: (listener: () => void) => () => void;
  /** Signals the CLI passes on to the command instead of dying from them (returns the way to stop). */
  onSignal?: (listener: (signal: "SIGINT" | "SIGTERM" | "SIGHUP") => void) => () => void;
}

/** The command to run, where: the instance already chosen (machine and container). */
export type ExecTarget = Omit<ExecRequest, "inbox" | "cols" | "rows"> & { machine: string };

/** Ctrl-C this many times (without a TTY) and the session is closed rather than signalled again. */
const INTERRUPTS_BEFORE_CLOSE = 3;

/**
 * The CLI's side of an exec session (model/exec.ts): asks the participant of the instance's
 * machine to start the command, then carries stdin, resizes and signals there, and writes the
 * command's output as it comes, granting credit only for what was written (a slow stdout slows
 * the command down; nothing piles up). Resolves with the command's exit code; rejects with
 * ExecSessionLostError when the session ended without one.
 */
export async function runExec(nc: NatsConnection, inboxPrefix: string, target: ExecTarget, io: ExecIo): Promise<number> {
  const inbox = createInbox(inboxPrefix);
  const sub = nc.subscribe(inbox);
  const who = `machine ${target.machine}`;
  const { machine, ...request } = target;
  const size = target.tty ? io.size?.() : undefined;
  const cleanup: Array<() => void> = [() => sub.unsubscribe()];
  let closeSession: ((reason: string) => void) | undefined;
  let exited = false;
  try {
    const started = await requestJson(nc, subjects.machine(machine, "exec"), { ...request, inbox, ...(size ? { cols: size.cols, rows: size.rows } : {}) } satisfies ExecRequest, execStartedSchema, { who, timeoutMs: 15_000 });
    const outSequence = new FrameSequence();
    const inSequence = new FrameSequence();
    const input = new SendWindow(EXEC_INPUT_WINDOW);
    const output = new ReceiveWindow(EXEC_OUTPUT_WINDOW);
    const send = (control: Control) => nc.publish(started.input, encodeControl(outSequence.take(), control));
    closeSession = (reason) => send({ type: "close", reason });

    let lost!: (error: Error) => void;
    const lostSession = new Promise<never>((_, reject) => (lost = reject));
    lostSession.catch(() => undefined);
    // A reader that went away (`| head`) ends the command too.
    for (const stream of [io.stdout, io.stderr]) {
      const onError = (error: Error) => lost(new ExecSessionLostError(`cannot write the command's output: ${error.message}`, { cause: error }));
      stream.once("error", onError);
      cleanup.push(() => stream.off("error", onError));
    }

    // Liveness: a ping every second; no responder means the session (or its ployzd) is gone.
    let lastAnswer = Date.now();
    let pinging = false;
    const pings = setInterval(() => {
      if (pinging) return;
      pinging = true;
      nc.request(started.input, encodeControl(0, { type: "ping" }), { timeout: EXEC_PING_EVERY_MS * 3 })
        .then(() => (lastAnswer = Date.now()))
        .catch((error: unknown) => {
          if (error instanceof RequestError && error.isNoResponders()) {
            lost(new ExecSessionLostError(`the exec session on ${who} is gone (no responder): ployzd stopped or ended it`, { hint: "the command's processes were ended with it, or are ended when ployzd starts again", cause: error }));
          } else if (!(error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError))) lost(error instanceof Error ? error : new Error(String(error)));
          if (Date.now() - lastAnswer > EXEC_SERVER_SILENCE_MS) lost(new ExecSessionLostError(`${who} did not answer the exec session for ${EXEC_SERVER_SILENCE_MS / 1000} s`, { cause: error }));
        })
        .finally(() => (pinging = false));
    }, EXEC_PING_EVERY_MS);
    cleanup.push(() => clearInterval(pings));

    // stdin → the command, as long as there is credit
    const stdin = target.stdin ? io.stdin : undefined;
    if (stdin) {
      const onData = (chunk: Buffer | string) => {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        for (const piece of chunks(bytes, MAX_DATA_FRAME_BYTES)) {
          nc.publish(started.input, encodeData(outSequence.take(), CHANNEL.stdin, piece));
          input.consume(piece.length);
        }
        if (!input.open) stdin.pause();
      };
      const onEnd = () => send({ type: "eof" });
      stdin.on("data", onData);
      stdin.once("end", onEnd);
      stdin.resume();
      cleanup.push(() => {
        stdin.off("data", onData);
        stdin.off("end", onEnd);
        stdin.pause();
      });
    }
    if (target.tty && io.size && io.onResize) {
      const sizeNow = io.size;
      cleanup.push(io.onResize(() => send({ type: "resize", ...sizeNow() })));
    }
    if (io.onSignal) {
      let interrupts = 0;
      cleanup.push(
        io.onSignal((signal) => {
          if (signal === "SIGINT" && ++interrupts >= INTERRUPTS_BEFORE_CLOSE) return send({ type: "close", reason: `interrupted ${interrupts} times` });
          if (signal === "SIGHUP") return send({ type: "close", reason: "the CLI's terminal went away (SIGHUP)" });
          send({ type: "signal", signal });
        }),
      );
    }

    const frames = (async (): Promise<number> => {
      for await (const msg of sub) {
        const frame = decodeFrame(msg.data);
        if (frame.kind === "invalid") throw new ExecSessionLostError(`${who} sent ${frame.reason}`);
        const gap = inSequence.check(frame.seq);
        if (gap) throw new ExecSessionLostError(`output ${gap}: the session cannot go on`, { hint: "core NATS dropped a message (a slow connection?): run the command again" });
        if (frame.kind === "data") {
          const size = frame.bytes.length;
          if (!output.received(size, MAX_DATA_FRAME_BYTES)) throw new ExecSessionLostError(`${who} sent more output than its credit`);
          const to = frame.channel === CHANNEL.stderr ? io.stderr : io.stdout;
          to.write(frame.bytes, () => {
            const grant = output.done(size);
            if (grant > 0) send({ type: "credit", bytes: grant });
          });
          continue;
        }
        const control = frame.control;
        if (control.type === "credit") {
          if (input.grant(control.bytes)) stdin?.resume();
        } else if (control.type === "exit") {
          return control.code;
        } else if (control.type === "error") {
          throw new ExecSessionLostError(`the exec session on ${who} ended without an exit code (${control.code}): ${control.message}`);
        }
      }
      throw new ExecSessionLostError(`the exec session's inbox closed before the command ended`);
    })();
    const code = await Promise.race([frames, lostSession]);
    exited = true;
    // Everything written before the exit code reaches its destination first.
    await Promise.all([io.stdout, io.stderr].map((s) => new Promise<void>((resolve) => s.write("", () => resolve()))));
    return code;
  } finally {
    // Leaving before the command ended (an error, a lost frame): the participant ends it now rather than at its silence timeout.
    if (!exited) closeSession?.("the CLI stopped before the command ended");
    for (const step of cleanup.reverse()) step();
  }
}
