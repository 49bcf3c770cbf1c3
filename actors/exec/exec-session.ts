import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { DockerStreamDemuxer } from "../../model/docker-stream.ts";
import { EXEC_CLIENT_SILENCE_MS, EXEC_INPUT_WINDOW, EXEC_KILL_GRACE_MS, EXEC_OUTPUT_WINDOW, type ExecStatusRecord } from "../../model/exec.ts";
import { ReceiveWindow, SendWindow } from "../../model/flow-window.ts";
import { CHANNEL, chunks, decodeFrame, encodeControl, encodeData, FrameSequence, MAX_DATA_FRAME_BYTES, type Control } from "../../model/stream-frames.ts";
import { signalExec } from "../docker/exec-processes.ts";

/** What a session is, for its frames, its Status records and the journal. */
export interface ExecSessionInfo {
  session: string;
  machine: string;
  namespace: string;
  service: string;
  slot: number;
  containerId: string;
  who: string;
  user?: string;
  command: string;
  tty: boolean;
  /** The CLI's inbox: output frames go there. */
  inbox: string;
  /** Where the CLI's frames arrive. */
  input: string;
  startedAt: number;
}

export interface ExecSessionDeps {
  nc: NatsConnection;
  log: Logger;
  /** Called once, when the session is over (the command exited, or was ended): for Status and the journal. */
  onEnded: (info: ExecSessionInfo, how: Pick<ExecStatusRecord, "exitCode" | "reason">) => void;
}

/**
 * One running `docker exec`, wired to a CLI over NATS: output to the CLI's inbox (paused while the
 * CLI grants no credit), input from the session's subject (credit granted once written to the
 * command). It ends when the command's output ends (its exit code is sent), or when it is ended:
 * the CLI said close, fell silent, or ployzd is stopping. Ending kills what is left of the
 * command's processes (SIGHUP, then SIGKILL), so nothing it started stays behind in the container.
 */
export class ExecSession {
  private readonly sequence = new FrameSequence();
  private readonly output = new SendWindow(EXEC_OUTPUT_WINDOW);
  private readonly input = new ReceiveWindow(EXEC_INPUT_WINDOW);
  private readonly demux: DockerStreamDemuxer | undefined;
  private lastHeard = Date.now();
  private state: "running" | "ending" | "ended" = "running";
  private pid = 0;
  private readonly sub: Subscription;
  private readonly silence: ReturnType<typeof setInterval>;
  private stdinOpen: boolean;

  constructor(
    readonly info: ExecSessionInfo,
    private readonly exec: Docker.Exec,
    private readonly socket: Duplex,
    stdin: boolean,
    private readonly deps: ExecSessionDeps,
  ) {
    this.stdinOpen = stdin;
    this.demux = info.tty ? undefined : new DockerStreamDemuxer();
    this.sub = deps.nc.subscribe(info.input, { callback: (error, msg) => (error ? void this.end("subscription-failed", `the session's input subscription failed: ${error.message}`) : this.onInput(msg)) });
    socket.on("data", (chunk: Buffer) => this.onOutput(chunk));
    socket.once("end", () => void this.onOutputEnded());
    socket.once("error", (error: Error) => void this.end("docker-failed", `the Docker stream failed: ${error.message}`));
    this.silence = setInterval(() => {
      if (Date.now() - this.lastHeard > EXEC_CLIENT_SILENCE_MS) void this.end("client-gone", `no frame from ${info.who} for ${EXEC_CLIENT_SILENCE_MS / 1000} s`);
    }, 500);
    void this.learnPid();
  }

  get running(): boolean {
    return this.state === "running";
  }

  /** The terminal's size: set right after the start, and on every resize. */
  async resize(cols: number, rows: number): Promise<void> {
    try {
      await this.exec.resize({ w: cols, h: rows });
    } catch (error) {
      // A command that already exited cannot be resized: its exit is on its way.
      this.deps.log.debug({ session: this.info.session, err: error }, "exec resize refused");
    }
  }

  /** Ends the session now: kills what is left of the command, tells the CLI why (if it still listens). */
  async end(code: string, reason: string): Promise<void> {
    if (this.state !== "running") return;
    this.state = "ending";
    this.deps.log.info({ session: this.info.session, code, reason }, "exec session ended");
    await this.killCommand();
    this.send({ type: "error", code, message: reason });
    this.finish({ reason });
  }

  private send(control: Control): void {
    this.deps.nc.publish(this.info.inbox, encodeControl(this.sequence.take(), control));
  }

  private onOutput(chunk: Buffer): void {
    const pieces = this.demux ? this.demux.push(chunk) : [{ stream: 1 as const, bytes: chunk }];
    for (const piece of pieces) {
      for (const bytes of chunks(piece.bytes)) {
        this.deps.nc.publish(this.info.inbox, encodeData(this.sequence.take(), piece.stream === 2 ? CHANNEL.stderr : CHANNEL.stdout, bytes));
        this.output.consume(bytes.length);
      }
    }
    // Out of credit: stop reading from dockerd, which stops reading from the command.
    if (!this.output.open) this.socket.pause();
  }

  private onInput(msg: Msg): void {
    this.lastHeard = Date.now();
    if (this.state !== "running") return;
    const frame = decodeFrame(msg.data);
    if (frame.kind === "invalid") return void this.end("protocol", `the client sent ${frame.reason}`);
    // Pings are requests beside the stream, not part of its sequence.
    if (frame.kind === "control" && frame.control.type === "ping") {
      if (msg.reply) msg.respond(encodeControl(0, { type: "pong" }));
      return;
    }
    const gap = this.sequence.check(frame.seq);
    if (gap) return void this.end("frame-lost", `input ${gap}`);
    if (frame.kind === "data") {
      if (!this.stdinOpen) return void this.end("protocol", "the client sent input after its end, or to a command without stdin");
      const size = frame.bytes.length;
      if (!this.input.received(size, MAX_DATA_FRAME_BYTES)) return void this.end("protocol", "the client sent more input than its credit");
      this.socket.write(frame.bytes, () => {
        const grant = this.input.done(size);
        if (grant > 0 && this.state === "running") this.send({ type: "credit", bytes: grant });
      });
      return;
    }
    const control = frame.control;
    switch (control.type) {
      case "credit":
        if (this.output.grant(control.bytes)) this.socket.resume();
        return;
      case "resize":
        void this.resize(control.cols, control.rows);
        return;
      case "signal":
        if (this.pid > 0) signalExec(this.pid, this.info.containerId, control.signal);
        return;
      case "eof":
        this.stdinOpen = false;
        this.socket.end(); // half-close: the command reads end of file
        return;
      case "close":
        void this.end("client-closed", `${this.info.who} closed the session: ${control.reason}`);
        return;
      default:
        void this.end("protocol", `the client sent a ${control.type} frame`);
    }
  }

  /** The command's output ended: it exited (or closed its output). Its exit code goes to the CLI. */
  private async onOutputEnded(): Promise<void> {
    if (this.state !== "running") return;
    if (this.demux?.partial) this.deps.log.warn({ session: this.info.session }, "exec output ended in the middle of a Docker frame");
    let info = await this.exec.inspect();
    const deadline = Date.now() + 5_000;
    while (info.Running && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      info = await this.exec.inspect();
    }
    if (this.state !== "running") return;
    if (info.Running) return await this.end("output-closed", "the command closed its output but did not exit within 5 s: it was killed");
    this.state = "ending";
    const exitCode = info.ExitCode ?? -1;
    // What the command left running in its session goes with it.
    await this.killCommand();
    this.send({ type: "exit", code: exitCode });
    this.finish({ exitCode });
  }

  private finish(how: Pick<ExecStatusRecord, "exitCode" | "reason">): void {
    if (this.state === "ended") return;
    this.state = "ended";
    clearInterval(this.silence);
    this.sub.unsubscribe();
    this.socket.destroy();
    this.deps.onEnded(this.info, how);
  }

  /** SIGHUP to every process of the command, SIGKILL to what is left after the grace time. */
  private async killCommand(): Promise<void> {
    if (this.pid === 0) await this.learnPid();
    if (this.pid === 0) return;
    if (signalExec(this.pid, this.info.containerId, "SIGHUP") === 0) return;
    const deadline = Date.now() + EXEC_KILL_GRACE_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (signalExec(this.pid, this.info.containerId, 0) === 0) return;
    }
    const killed = signalExec(this.pid, this.info.containerId, "SIGKILL");
    if (killed > 0) this.deps.log.warn({ session: this.info.session, killed }, "exec processes killed after the grace time");
  }

  /** The command's host pid (Docker knows it a moment after the start). */
  private async learnPid(): Promise<void> {
    for (let i = 0; i < 100 && this.pid === 0; i++) {
      const info = await this.exec.inspect();
      if (info.Pid) this.pid = info.Pid;
      else if (!info.Running && i > 0) return;
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
