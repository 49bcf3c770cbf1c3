import { NoRespondersError, RequestError, TimeoutError, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { retryingJsApi } from "../../runtime/nats/js-api-retry.ts";

/** A connection whose request answers from a script, one entry per call. */
function scripted(answers: Array<Error | string>): { nc: NatsConnection; calls: string[] } {
  const calls: string[] = [];
  const nc = {
    request: async (subject: string) => {
      calls.push(subject);
      const next = answers.shift();
      if (next === undefined) throw new Error("no more answers scripted");
      if (next instanceof Error) throw next;
      return { data: new TextEncoder().encode(next) } as Msg;
    },
    info: { server_name: "s" },
  } as unknown as NatsConnection;
  return { nc, calls };
}

const noResponders = (subject: string) => new RequestError("no responders", { cause: new NoRespondersError(subject) });
const notEnabled = JSON.stringify({ type: "io.nats.jetstream.api.v1.stream_info_response", error: { code: 503, err_code: 10039, description: "JetStream not enabled for account" } });

describe("retryingJsApi", () => {
  it("asks the JetStream API again after no responders or 'not enabled', reporting each wait", async () => {
    const { nc, calls } = scripted([noResponders("$JS.ployz.API.INFO"), notEnabled, '{"ok":true}']);
    const notices: string[] = [];
    const reply = await retryingJsApi(nc, (m) => notices.push(m), [1, 1, 1]).request("$JS.ployz.API.INFO");
    expect(new TextDecoder().decode(reply.data)).toBe('{"ok":true}');
    expect(calls).toHaveLength(3);
    expect(notices).toEqual([expect.stringContaining("(no responders, attempt 1)"), expect.stringContaining("(JetStream not enabled for the account, attempt 2)")]);
  });

  it("gives up after its last wait with the server's own answer", async () => {
    const { nc, calls } = scripted([noResponders("$JS.API.INFO"), noResponders("$JS.API.INFO"), noResponders("$JS.API.INFO")]);
    await expect(retryingJsApi(nc, () => {}, [1, 1]).request("$JS.API.INFO")).rejects.toThrow(RequestError);
    expect(calls).toHaveLength(3);
    const last = scripted([notEnabled]);
    expect(new TextDecoder().decode((await retryingJsApi(last.nc, () => {}, []).request("$JS.API.INFO")).data)).toContain("10039");
  });

  it("does not retry a timeout, another subject, or another error reply", async () => {
    const timeout = scripted([new TimeoutError()]);
    await expect(retryingJsApi(timeout.nc, () => {}, [1]).request("$JS.API.INFO")).rejects.toThrow(TimeoutError);
    expect(timeout.calls).toHaveLength(1);
    const participant = scripted([noResponders("ployz.m.x.container.start")]);
    await expect(retryingJsApi(participant.nc, () => {}, [1]).request("ployz.m.x.container.start")).rejects.toThrow(RequestError);
    expect(participant.calls).toHaveLength(1);
    const missing = scripted(['{"error":{"code":404,"err_code":10059,"description":"stream not found"}}']);
    expect(new TextDecoder().decode((await retryingJsApi(missing.nc, () => {}, [1]).request("$JS.API.STREAM.INFO.x")).data)).toContain("10059");
    expect(missing.calls).toHaveLength(1);
  });

  it("passes everything else through to the connection", () => {
    const { nc } = scripted([]);
    expect(retryingJsApi(nc, () => {}).info).toEqual({ server_name: "s" });
  });
});
