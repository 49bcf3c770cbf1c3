import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DockerStreamDemuxer } from "../../model/docker-stream.ts";
import { commandLine, identityOfInbox, parseInstanceTarget, pickInstance, type LiveInstance } from "../../model/exec.ts";
import { ReceiveWindow, SendWindow } from "../../model/flow-window.ts";
import { CHANNEL, chunks, decodeFrame, encodeControl, encodeData, FrameSequence, MAX_DATA_FRAME_BYTES } from "../../model/stream-frames.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("stream frames", () => {
  it("carry data on a channel and control messages, numbered", () => {
    const data = decodeFrame(encodeData(7, CHANNEL.stderr, bytes("oops\n")));
    expect(data).toMatchObject({ kind: "data", seq: 7, channel: CHANNEL.stderr });
    expect(text((data as { bytes: Uint8Array }).bytes)).toBe("oops\n");
    expect(decodeFrame(encodeControl(2 ** 32 - 1, { type: "exit", code: 3 }))).toEqual({ kind: "control", seq: 2 ** 32 - 1, control: { type: "exit", code: 3 } });
    expect(decodeFrame(encodeControl(0, { type: "resize", cols: 120, rows: 40 }))).toMatchObject({ control: { type: "resize", cols: 120, rows: 40 } });
  });

  it("refuse what is not a frame, saying why", () => {
    expect(decodeFrame(new Uint8Array([1, 0]))).toMatchObject({ kind: "invalid", reason: expect.stringContaining("shorter than its header") });
    expect(decodeFrame(new Uint8Array([9, 0, 0, 0, 0]))).toMatchObject({ kind: "invalid", reason: "unknown frame kind 9" });
    expect(decodeFrame(new Uint8Array([1, 0, 0, 0, 0, 7]))).toMatchObject({ kind: "invalid", reason: "unknown channel 7" });
    const control = encodeControl(0, { type: "exit", code: 1 });
    control[control.length - 2] = 0x7b; // breaks the JSON
    expect(decodeFrame(control)).toMatchObject({ kind: "invalid" });
    const unknown = new Uint8Array([2, 0, 0, 0, 0, ...bytes(JSON.stringify({ type: "format-disk" }))]);
    expect(decodeFrame(unknown)).toMatchObject({ kind: "invalid", reason: expect.stringContaining("does not parse") });
    // a signal outside the list is not passed on
    const signal = new Uint8Array([2, 0, 0, 0, 0, ...bytes(JSON.stringify({ type: "signal", signal: "SIGSTOP" }))]);
    expect(decodeFrame(signal)).toMatchObject({ kind: "invalid" });
  });

  it("notice a lost frame by its sequence number", () => {
    const sequence = new FrameSequence();
    expect([sequence.take(), sequence.take()]).toEqual([0, 1]);
    expect(sequence.check(0)).toBeUndefined();
    expect(sequence.check(2)).toBe("frame 1 was lost (frame 2 came instead)");
  });

  it("split large payloads into frames of at most 64 KiB", () => {
    const big = new Uint8Array(MAX_DATA_FRAME_BYTES * 2 + 5);
    expect(chunks(big).map((c) => c.length)).toEqual([MAX_DATA_FRAME_BYTES, MAX_DATA_FRAME_BYTES, 5]);
    expect(chunks(bytes("x"))).toHaveLength(1);
  });
});

describe("flow control", () => {
  it("a sender stops when its credit is spent and goes on when more is granted", () => {
    const window = new SendWindow(100);
    expect(window.consume(60)).toBe(true);
    expect(window.consume(60)).toBe(false); // the last frame may overdraw
    expect(window.open).toBe(false);
    expect(window.grant(10)).toBe(false);
    expect(window.grant(50)).toBe(true);
    expect(window.credit).toBe(40);
  });

  it("a receiver grants credit back in batches of a quarter window, for what it wrote out", () => {
    const window = new ReceiveWindow(1000);
    expect(window.received(200, 100)).toBe(true);
    expect(window.done(200)).toBe(0);
    expect(window.received(100, 100)).toBe(true);
    expect(window.done(100)).toBe(300);
    // a sender that ignores its credit is caught
    expect(window.received(1200, 100)).toBe(false);
  });
});

describe("Docker's multiplexed stream", () => {
  const frame = (stream: number, payload: string) => {
    const body = bytes(payload);
    const out = new Uint8Array(8 + body.length);
    new DataView(out.buffer).setUint8(0, stream);
    new DataView(out.buffer).setUint32(4, body.length);
    out.set(body, 8);
    return out;
  };

  it("is demultiplexed whatever way the socket cuts it", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(1, 2), fc.string({ maxLength: 40 })), { maxLength: 8 }), fc.array(fc.nat(60), { maxLength: 10 }), (frames, cuts) => {
        const whole = frames.map(([s, p]) => frame(s, p));
        const stream = new Uint8Array(whole.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const f of whole) {
          stream.set(f, at);
          at += f.length;
        }
        const demux = new DockerStreamDemuxer();
        const out = { 1: [] as number[], 2: [] as number[] };
        let from = 0;
        for (const cut of [...cuts.map((c) => Math.min(c, stream.length)).sort((a, b) => a - b), stream.length]) {
          for (const piece of demux.push(stream.subarray(from, Math.max(from, cut)))) out[piece.stream].push(...piece.bytes);
          from = Math.max(from, cut);
        }
        expect(demux.partial).toBe(false);
        for (const s of [1, 2] as const) expect(text(new Uint8Array(out[s]))).toBe(frames.filter(([k]) => k === s).map(([, p]) => p).join(""));
      }),
    );
  });

  it("says when it ended in the middle of a frame", () => {
    const demux = new DockerStreamDemuxer();
    demux.push(frame(1, "hello").subarray(0, 10));
    expect(demux.partial).toBe(true);
  });
});

describe("choosing the instance", () => {
  const instance = (slot: number, state: string | null, machine = "m1"): LiveInstance => ({
    namespace: "shop",
    service: "web",
    slot,
    machine,
    revision: "r1",
    containerId: `${slot}`.padStart(64, "a"),
    containerName: `shop-web-${slot}`,
    ports: [],
    resources: {},
    deployId: "d1",
    commitSeq: 1,
    createdAt: "2026-12-01T00:00:00Z",
    live: state === null ? { ok: false, error: "no responder" } : { ok: true, state },
  });

  it("takes SERVICE or SERVICE#SLOT", () => {
    expect(parseInstanceTarget("web")).toEqual({ service: "web" });
    expect(parseInstanceTarget("web#2")).toEqual({ service: "web", slot: 2 });
    for (const bad of ["web#", "#2", "Web", "web#x", "a.b"]) expect(() => parseInstanceTarget(bad)).toThrow(/SERVICE or SERVICE#SLOT/);
  });

  it("is the slot asked, or the lowest running one, wherever it runs", () => {
    const list = [instance(2, "running", "m2"), instance(0, "exited"), instance(1, null, "m3")];
    expect(pickInstance(list, "shop", "web")).toMatchObject({ slot: 2, machine: "m2" });
    expect(pickInstance(list, "shop", "web", 2)).toMatchObject({ slot: 2 });
    expect(() => pickInstance(list, "shop", "web", 0)).toThrow("web#0 of shop on m1 is not running: exited");
    expect(() => pickInstance(list, "shop", "web", 1)).toThrow("not running: unknown (no responder)");
    expect(() => pickInstance(list, "shop", "web", 5)).toThrow("has no slot 5");
    expect(() => pickInstance(list, "shop", "api")).toThrow("namespace shop has no instances of service api");
    expect(() => pickInstance([instance(0, "exited")], "shop", "web")).toThrow("no instance of web in shop is running: #0 on m1 exited");
  });
});

describe("what Status says of an exec", () => {
  it("names who from the inbox the output goes to", () => {
    expect(identityOfInbox("_INBOX.c.alice.abc")).toBe("alice");
    expect(identityOfInbox("_INBOX.m.m1.abc")).toBe("machine m1");
    expect(identityOfInbox("_INBOX.abc")).toBe("unknown");
  });

  it("keeps the command on one line, quoted where needed, at most 200 characters", () => {
    expect(commandLine(["sh", "-c", "echo hi; exit 3"])).toBe('sh -c "echo hi; exit 3"');
    expect(commandLine(["x".repeat(300)])).toHaveLength(200);
  });
});
