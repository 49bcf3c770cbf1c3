import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../model/instance.ts";
import { dnsTtlSeconds } from "../../model/dns-zone.ts";
import { aNamespaceSpec, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { eventually } from "../harness/daemon.ts";
import { dig } from "../harness/dns.ts";
import { BUSYBOX_IMAGE, execIn, removeTestContainers } from "../harness/docker.ts";

/**
 * The cluster DNS of a real ployzd, asked by real clients: `dig` on this host, and busybox
 * `nslookup` inside containers — the cluster's own instances, and containers that are not the
 * cluster's, which this test creates and removes. The drain is 2.5 s, so answers may live 2 s.
 */

const DRAIN_MS = 2_500;
const REPLICAS = 40;
const run = `dns-${randomBytes(3).toString("hex")}`;

let cluster: TestCluster;
let host: string;
let port: number;
let ns: string;
let addresses: string[];
beforeAll(async () => {
  cluster = await startTestCluster({ extraArgs: ["--drain-ms", String(DRAIN_MS)] });
  [host, port] = (([h, p]) => [h!, Number(p)] as const)(cluster.dns.split(":"));
  ns = cluster.namespace("dns40");
  // no readiness probe: 40 probes at once would only slow this down; running is ready
  await cluster.client.deploy({ spec: aNamespaceSpec(ns, { web: httpService("x", { replicas: REPLICAS, readiness: undefined }) }) });
  addresses = (await cluster.client.ps(ns)).instances.map((i) => i.address!).sort();
}, 240_000);
afterAll(async () => {
  await removeTestContainers(cluster.docker, run).catch(() => undefined);
  await cluster?.dispose();
}, 120_000);

const name = () => `web.${ns}.ployz.internal`;

/** The cluster's own instances of `namespace` (not the test's impostor, which carries the namespace label too). */
async function instancesOf(namespace: string) {
  return (await cluster.containersOf(namespace)).filter((c) => c.Labels[LABELS.cluster] !== "another-cluster" && c.State === "running");
}

/** busybox nslookup for A records inside `containerId`, asking the cluster DNS. */
async function nslookupIn(containerId: string, query: string) {
  const result = await execIn(cluster.docker, containerId, ["nslookup", "-type=a", `-port=${port}`, query, host]);
  const answers = [...result.output.matchAll(/Name:\s+(\S+)\s+Address:\s+(\S+)/g)].map((m) => m[2]!);
  return { ...result, answers };
}

/** A busybox container on the bridge that sleeps, labelled as given (and for clean-up). */
async function aContainer(labels: Record<string, string>): Promise<string> {
  const container = await cluster.docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ["sleep", "600"], Labels: { ...labels, "ployz.test": run }, HostConfig: { Init: true } });
  await container.start();
  return container.id;
}

describe("the cluster DNS of a running ployzd", () => {
  it(`resolves ${REPLICAS} ready backends through busybox nslookup inside one of them: what fits in 512 bytes, parsed`, async () => {
    expect(addresses).toHaveLength(REPLICAS);
    await eventually(async () => ((await dig(host, port, name(), "A", ["+tcp"])).answers.length === REPLICAS ? true : undefined), "the DNS to serve every replica");
    const [instance] = await instancesOf(ns);

    const lookup = await nslookupIn(instance!.Id, name());
    expect(lookup.output).not.toMatch(/Parse error|REFUSED|can't find/i);
    expect(lookup.code).toBe(0);
    expect(lookup.answers.length).toBeGreaterThanOrEqual(25);
    expect(lookup.answers.every((a) => addresses.includes(a))).toBe(true);
  });

  it("sets TC over UDP when the answer does not fit 512 bytes, and gives the whole answer over TCP", async () => {
    const udp = await dig(host, port, name(), "A", ["+notcp", "+ignore", "+noedns"]);
    expect(udp.flags).toContain("tc");
    expect(udp.size).toBeLessThanOrEqual(512);
    expect(udp.answers.length).toBeLessThan(REPLICAS);

    const tcp = await dig(host, port, name(), "A", ["+tcp"]);
    expect(tcp.flags).not.toContain("tc");
    expect(tcp.answers.map((a) => a.data).sort()).toEqual(addresses);
  });

  it("gives no TTL longer than the drain", async () => {
    const { answers } = await dig(host, port, name(), "A", ["+tcp"]);
    expect(answers.length).toBe(REPLICAS);
    for (const answer of answers) expect(answer.ttl * 1000).toBeLessThanOrEqual(DRAIN_MS);
    expect(answers[0]!.ttl).toBe(dnsTtlSeconds(DRAIN_MS));
  });

  it("refuses containers that are not this cluster's — unlabelled, or labelled for another cluster — and answers its own", async () => {
    const stranger = await aContainer({});
    const impostor = await aContainer({ [LABELS.managed]: "true", [LABELS.cluster]: "another-cluster", [LABELS.namespace]: ns });
    for (const id of [stranger, impostor]) {
      const lookup = await nslookupIn(id, name());
      expect(lookup.output).toContain("REFUSED");
      expect(lookup.answers).toEqual([]);
    }
    const [instance] = await instancesOf(ns);
    const own = await nslookupIn(instance!.Id, `1.${name()}`);
    expect(own.answers, own.output).toHaveLength(1);
  });

  it("answers a container of the cluster that started after the DNS knew its containers", async () => {
    const late = cluster.namespace("dnslate");
    await cluster.client.deploy({ spec: aNamespaceSpec(late, { web: httpService("late", { readiness: undefined }) }) });
    const [instance] = await instancesOf(late);
    const lookup = await nslookupIn(instance!.Id, `web.${late}.ployz.internal`);
    expect(lookup.answers).toEqual([(await cluster.client.ps(late)).instances[0]!.address]);
  });
});
