import { z } from "zod";

/**
 * The frames of a byte stream between two NATS clients (an exec session: the CLI and the
 * participant). Each direction numbers its frames from 0, so a receiver notices a frame core NATS
 * lost (it is at-most-once) and ends the stream loudly instead of corrupting it.
 *
 * Wire format: `[kind u8][seq u32 big-endian]` then, for data, `[channel u8][bytes]`, for control,
 * a JSON document. Binary, so 100 MiB of output are not turned into JSON strings.
 */

export const FRAME_KIND = { data: 1, control: 2 } as const;

/** Which byte stream a data frame carries. */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2 } as const;
export type Channel = (typeof CHANNEL)[keyof typeof CHANNEL];

/** The largest payload of one data frame: far below nats-server's 1 MiB max_payload. */
export const MAX_DATA_FRAME_BYTES = 64 * 1024;

/** Control messages, both directions; which side sends which is said beside each. */
export const controlSchema = z.discriminatedUnion("type", [
  /** Receiver → sender: `bytes` more data may be sent (flow control). */
  z.object({ type: z.literal("credit"), bytes: z.number().int().positive() }),
  /** CLI → participant: the terminal's new size. */
  z.object({ type: z.literal("resize"), cols: z.number().int().min(1).max(10_000), rows: z.number().int().min(1).max(10_000) }),
  /** CLI → participant: deliver this signal to the command (its whole process session). */
  z.object({ type: z.literal("signal"), signal: z.enum(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGKILL"]) }),
  /** CLI → participant: stdin ended. */
  z.object({ type: z.literal("eof") }),
  /** CLI → participant: the CLI is going away: end the command now. */
  z.object({ type: z.literal("close"), reason: z.string().max(200) }),
  /** CLI → participant, as a request: are you still there (answered `pong`). Any frame also says the CLI is alive. */
  z.object({ type: z.literal("ping") }),
  z.object({ type: z.literal("pong") }),
  /** Participant → CLI: the command ended with this exit code; nothing follows. */
  z.object({ type: z.literal("exit"), code: z.number().int() }),
  /** Participant → CLI: the session ended without an exit code (why); nothing follows. */
  z.object({ type: z.literal("error"), code: z.string(), message: z.string() }),
]);
export type Control = z.infer<typeof controlSchema>;

export type Frame = { kind: "data"; seq: number; channel: Channel; bytes: Uint8Array } | { kind: "control"; seq: number; control: Control };

const HEADER = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeData(seq: number, channel: Channel, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + 1 + bytes.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, FRAME_KIND.data);
  view.setUint32(1, seq);
  view.setUint8(HEADER, channel);
  out.set(bytes, HEADER + 1);
  return out;
}

export function encodeControl(seq: number, control: Control): Uint8Array {
  const json = encoder.encode(JSON.stringify(control));
  const out = new Uint8Array(HEADER + json.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, FRAME_KIND.control);
  view.setUint32(1, seq);
  out.set(json, HEADER);
  return out;
}

/** A frame, or why the bytes are not one (the caller ends the stream: the peer speaks something else). */
export function decodeFrame(bytes: Uint8Array): Frame | { kind: "invalid"; reason: string } {
  if (bytes.length < HEADER) return { kind: "invalid", reason: `a frame of ${bytes.length} bytes is shorter than its header` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  const seq = view.getUint32(1);
  if (kind === FRAME_KIND.data) {
    if (bytes.length < HEADER + 1) return { kind: "invalid", reason: "a data frame without its channel" };
    const channel = view.getUint8(HEADER);
    if (channel !== CHANNEL.stdin && channel !== CHANNEL.stdout && channel !== CHANNEL.stderr) return { kind: "invalid", reason: `unknown channel ${channel}` };
    return { kind: "data", seq, channel, bytes: bytes.subarray(HEADER + 1) };
  }
  if (kind === FRAME_KIND.control) {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(bytes.subarray(HEADER)));
    } catch {
      return { kind: "invalid", reason: "a control frame that is not JSON" };
    }
    const parsed = controlSchema.safeParse(json);
    if (!parsed.success) return { kind: "invalid", reason: `a control frame that does not parse: ${parsed.error.issues[0]?.message ?? "invalid"}` };
    return { kind: "control", seq, control: parsed.data };
  }
  return { kind: "invalid", reason: `unknown frame kind ${kind}` };
}

/** Numbers outgoing frames and checks incoming ones: a gap means core NATS lost one. */
export class FrameSequence {
  private nextOut = 0;
  private nextIn = 0;

  /** The sequence number of the next frame to send. */
  take(): number {
    return this.nextOut++;
  }

  /** Undefined when `seq` is the one expected, else what went wrong. */
  check(seq: number): string | undefined {
    if (seq !== this.nextIn) return `frame ${this.nextIn} was lost (frame ${seq} came instead)`;
    this.nextIn++;
    return undefined;
  }
}

/** Splits `bytes` into data-frame payloads of at most MAX_DATA_FRAME_BYTES. */
export function chunks(bytes: Uint8Array, max = MAX_DATA_FRAME_BYTES): Uint8Array[] {
  if (bytes.length <= max) return [bytes];
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += max) out.push(bytes.subarray(at, Math.min(at + max, bytes.length)));
  return out;
}
