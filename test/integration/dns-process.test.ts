import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createActor, fromCallback, waitFor } from "xstate";
import { dnsControl } from "../../actors/dns/dns-control.ts";
import { freeDnsPort } from "../../actors/dns/dns-address.ts";
import { createDnsApplier } from "../../actors/dns/dns-server.ts";
import { routingConsumerMachine, type RoutingConsumerEvent } from "../../machines/routing-consumer.ts";
import type { DnsProcessConfig } from "../../model/dns-process.ts";
import { DEFAULT_SUPERVISION_POLICY } from "../../model/supervision.ts";
import { startOrAdoptDns, stopDnsProcess, type DnsProcessHandle } from "../../runtime/dns-process.ts";
import { PLOYZD_SCRIPT } from "../../runtime/paths.ts";
import { isAlive, waitForExit } from "../../runtime/process.ts";
import { aBackend, aProjection, aRoutingRecord } from "../fixtures/routing.ts";
import { dig } from "../harness/dns.ts";

/**
 * The DNS process (`ployzd dns`) for real: started from bin/ployzd.js on loopback, driven through
 * its control socket, adopted, replaced, killed.
 */

const HOST = "127.0.0.1";
const NAME = "web.shop.ployz.internal";
const FORTY = Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`);
const forty = (seq: number) => ({ ...aProjection(aRoutingRecord({ service: "web", ports: [{ container: 8080, protocol: "tcp" }], backends: FORTY.map((address, i) => aBackend(i, { address })) })), seq });

const dirs: string[] = [];
const processes: Array<{ pidFile: string; configFile: string }> = [];
afterEach(async () => {
  for (const p of processes.splice(0)) await stopDnsProcess(p.pidFile, p.configFile);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Options for a DNS process in a fresh directory, on a free loopback port. */
async function aDnsProcess(overrides: Partial<DnsProcessConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "ployz-dns-process-"));
  dirs.push(dir);
  const config: DnsProcessConfig = {
    host: HOST,
    port: await freeDnsPort(HOST),
    ttl: 0,
    clusterId: "dns-process-test",
    controlSocket: join(dir, "dns", "control.sock"),
    zoneFile: join(dir, "dns", "zone.json"),
    logFile: join(dir, "dns.log"),
    ...overrides,
  };
  const options = { config, configFile: join(dir, "dns", "dns.json"), pidFile: join(dir, "dns", "dns.pid"), ployzdScript: PLOYZD_SCRIPT, outFile: join(dir, "dns.out") };
  processes.push(options);
  return { dir, options, start: (extra: Partial<DnsProcessConfig> = {}) => startOrAdoptDns({ ...options, config: { ...config, ...extra } }) };
}

const answers = async (port: number) => (await dig(HOST, port, NAME, "A", ["+tcp"])).answers.length;

describe("the DNS process", () => {
  it("answers each projection sent on its control socket, whole, once it says it applied it", async () => {
    const { options, start } = await aDnsProcess();
    const dns = await start();
    expect(dns.adopted).toBe(false);
    expect((await dig(HOST, options.config.port, NAME)).status).toBe("NXDOMAIN");
    await dns.control.apply(forty(7));
    expect(await answers(options.config.port)).toBe(40);
    expect(await dns.control.status()).toMatchObject({ pid: dns.pid, seq: 7, hosts: expect.arrayContaining([HOST]) });
    await dns.control.apply(forty(8));
    await dns.control.apply({ ...aProjection(), seq: 9 });
    expect((await dig(HOST, options.config.port, NAME)).status).toBe("NXDOMAIN");
    // only this user reaches it
    expect(statSync(options.config.controlSocket).mode & 0o777).toBe(0o600);
    expect(statSync(join(options.config.controlSocket, "..")).mode & 0o777).toBe(0o700);
    expect(statSync(options.configFile).mode & 0o777).toBe(0o600);
  });

  it("is adopted by the next start with the same config, still answering its last projection; another config replaces it", async () => {
    const { options, start } = await aDnsProcess();
    const first = await start();
    await first.control.apply(forty(3));
    const again = await start();
    expect(again).toMatchObject({ adopted: true, pid: first.pid });
    expect(await answers(options.config.port)).toBe(40);

    const port = await freeDnsPort(HOST);
    const moved = await start({ port });
    expect(moved.adopted).toBe(false);
    expect(moved.pid).not.toBe(first.pid);
    expect(await waitForExit(first.pid, 5_000)).toBe(true);
    // the new one answers the zone the old one kept, before anyone sends it a projection
    expect(await answers(port)).toBe(40);
  });

  it("after kill -9, a new one answers the last projection from its zone file at once", async () => {
    const { options, start } = await aDnsProcess();
    const first = await start();
    await first.control.apply(forty(5));
    process.kill(first.pid, "SIGKILL");
    expect(await waitForExit(first.pid, 5_000)).toBe(true);
    const second = await start();
    expect(second.adopted).toBe(false);
    expect(await second.control.status()).toMatchObject({ seq: 5 });
    expect(await answers(options.config.port)).toBe(40);
  });

  it("a zone file that does not parse is said in its log, and it answers an empty zone until it is sent one", async () => {
    const { options, start } = await aDnsProcess();
    const first = await start();
    await first.control.apply(forty(5));
    process.kill(first.pid, "SIGKILL");
    await waitForExit(first.pid, 5_000);
    writeFileSync(options.config.zoneFile, '{"seq": 5, "records": [{"namespace": "../x"}]}');
    const second = await start();
    expect(await second.control.status()).toMatchObject({ seq: 0 });
    expect((await dig(HOST, options.config.port, NAME)).status).toBe("NXDOMAIN");
    expect(readFileSync(options.config.logFile, "utf8")).toContain("the DNS zone file cannot be used");
    await second.control.apply(forty(6));
    expect(await answers(options.config.port)).toBe(40);
  });

  it("fails to start, naming the address, when its port is taken; nothing is left running", async () => {
    const { options, start } = await aDnsProcess();
    const holder = await start();
    const { start: startOther, options: other } = await aDnsProcess({ port: options.config.port });
    const error = await startOther().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/the DNS process exited \(code 1\) before it was ready/);
    expect(readFileSync(other.config.logFile, "utf8")).toContain(`cannot listen on ${HOST}:${options.config.port}`);
    expect(isAlive(holder.pid)).toBe(true);
    const pid = Number(readFileSync(other.pidFile, "utf8"));
    expect(isAlive(pid)).toBe(false);
  });

  it("refuses what is not a projection, and keeps the one it had", async () => {
    const { options, start } = await aDnsProcess();
    const dns = await start();
    await dns.control.apply(forty(2));
    const put = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ socketPath: options.config.controlSocket, method: "PUT", path: "/projection" }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end(body);
      });
    expect(await put("not json")).toMatchObject({ status: 400, text: expect.stringContaining("not JSON") });
    expect(await put(JSON.stringify({ seq: 3, records: [{ namespace: "shop" }] }))).toMatchObject({ status: 400, text: expect.stringContaining("not a projection: records.0") });
    expect(await dns.control.status()).toMatchObject({ seq: 2 });
    expect(await answers(options.config.port)).toBe(40);
  });
});

describe("the DNS applier (ployzd's side) inside a routing consumer", () => {
  function consumer(dns: DnsProcessHandle) {
    let tell!: (event: RoutingConsumerEvent) => void;
    const machine = routingConsumerMachine.provide({
      actors: {
        follow: fromCallback(({ sendBack }) => void (tell = sendBack as typeof tell)),
        apply: createDnsApplier({ control: dns.control, log: pino({ level: "silent" }) }),
      },
    });
    const actor = createActor(machine, { input: { kind: "dns", listen: "test", now: Date.now, reloadBackoff: DEFAULT_SUPERVISION_POLICY } });
    actor.start();
    return { actor, tell: (event: RoutingConsumerEvent) => tell(event) };
  }

  it("reports each projection applied once the DNS process answers from it", async () => {
    const { options, start } = await aDnsProcess();
    const { actor, tell } = consumer(await start());
    try {
      tell({ type: "PROJECTION", projection: forty(7) });
      await waitFor(actor, (s) => s.context.appliedSeq === 7);
      expect(await answers(options.config.port)).toBe(40);
    } finally {
      actor.stop();
    }
  });

  it("ends the consumer (APPLIER_CRASHED, for its supervisor to restart) when the DNS process is gone, naming its socket", async () => {
    const { options, start } = await aDnsProcess();
    const dns = await start();
    process.kill(dns.pid, "SIGKILL");
    await waitForExit(dns.pid, 5_000);
    const { actor, tell } = consumer(dns);
    tell({ type: "PROJECTION", projection: forty(3) });
    const done = await waitFor(actor, (s) => s.status === "done");
    expect(done.context.applyError).toContain(options.config.controlSocket);
    expect(done.context.appliedSeq).toBe(0);
    // a control socket that is nobody's is refused too
    await expect(dnsControl(join(options.config.controlSocket, "..", "nobody.sock")).status()).rejects.toThrow(/nobody\.sock/);
  });
});
