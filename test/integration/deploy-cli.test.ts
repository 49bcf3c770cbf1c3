import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet, startTestCluster, type TestCluster } from "../harness/cluster.ts";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
let cluster: TestCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startTestCluster();
  dir = mkdtempSync(join(tmpdir(), "ployz-manifests-"));
}, 120_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cluster?.dispose();
});

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe("ployzctl deploy", () => {
  it("deploys a multi-service Compose file with volumes, configs and healthchecks", async () => {
    const ns = cluster.namespace("compose");
    const result = await cluster.home.cli("deploy", "-f", join(EXAMPLES, "compose-multi.yaml"), "-n", ns);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`deployed namespace ${ns}: commit \\d+`));
    expect(result.stderr).toContain("accepted by");
    const ps = JSON.parse((await cluster.home.cli("ps", "-n", ns, "--json")).stdout);
    const services = ps.instances.map((i: { service: string; slot: number; live: { state: string } }) => [i.service, i.slot, i.live.state]);
    expect(services).toEqual([
      ["web", 0, "running"],
      ["web", 1, "running"],
      ["worker", 0, "running"],
    ]);
    // the file config is mounted where the Compose file said
    const web = ps.instances.find((i: { service: string }) => i.service === "web");
    expect(await httpGet(web.address)).toContain("Compose");
    const explain = await cluster.home.cli("explain", "-n", ns, "web");
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain(`${cluster.machineId} (region local): CHOSEN for 2 instance(s)`);
    const history = await cluster.home.cli("history", "-n", ns);
    expect(history.stdout).toMatch(/head/);
  }, 120_000);

  it("previews a manifest and says how to apply exactly that plan", async () => {
    const ns = cluster.namespace("cli-preview");
    const path = file("preview.yaml", `namespace: ${ns}\nservices:\n  web:\n    image: ployz/busybox:local\n    command: sleep 300\n`);
    const result = await cluster.home.cli("deploy", "-f", path, "--preview");
    expect(result.code).toBe(0);
    const hash = /^plan ([0-9a-f]{12}) for /.exec(result.stdout)?.[1];
    expect(hash).toBeDefined();
    expect(result.stdout).toContain(`--plan ${hash}`);
    expect((await cluster.containersOf(ns)).length).toBe(0);
  });

  const refused: Array<[string, string, RegExp]> = [
    ["unsupported Compose key", "services:\n  web:\n    image: busybox\n    privileged: true\n", /services\.web\.privileged: Ployz does not support "privileged"/],
    ["wrong type", "namespace: NS\nservices:\n  web:\n    image: busybox\n    replicas: two\n", /services\.web\.replicas: /],
    ["unknown field", "namespace: NS\nservices:\n  web:\n    image: busybox\n    privilege: true\n", /services\.web: unknown key "privilege"/],
    ["bad service name", "namespace: NS\nservices:\n  Web_1:\n    image: busybox\n", /services\.Web_1|services\["Web_1"\]/],
    ["path traversal in a name", "namespace: NS\nservices:\n  ../etc:\n    image: busybox\n", /services\["\.\.\/etc"\]: service name must be/],
    ["invalid hostname", "namespace: NS\nservices:\n  web:\n    image: busybox\n    routes: [{ hostnames: [Bad_Host!], port: 80 }]\n", /services\.web\.routes\[0\]\.hostnames\[0\]: must be a lowercase DNS hostname/],
    ["route port out of range", "namespace: NS\nservices:\n  web:\n    image: busybox\n    routes: [{ hostnames: [a.example.test], port: 0 }]\n", /services\.web\.routes\[0\]\.port: must be a port 1–65535/],
    ["port out of range", "namespace: NS\nservices:\n  web:\n    image: busybox\n    ports: [{ container: 70000 }]\n", /services\.web\.ports\[0\]\.container: must be a port 1–65535/],
  ];
  for (const [what, content, message] of refused) {
    it(`refuses a manifest with ${what}, with a message that points at it, and deploys nothing`, async () => {
      const ns = cluster.namespace("refused");
      const path = file(`${what.replace(/\W+/g, "-")}.yaml`, content.replace("NS", ns));
      const result = await cluster.home.cli("deploy", "-f", path, "-n", ns);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: /);
      expect(result.stderr).toMatch(message);
      expect((await cluster.containersOf(ns)).length).toBe(0);
    });
  }

  it("refuses a 10 MB file by its size, before parsing it", async () => {
    const path = file("huge.yaml", `namespace: huge\nservices:\n  web:\n    image: busybox\n# ${"x".repeat(10 * 1024 * 1024)}\n`);
    const result = await cluster.home.cli("deploy", "-f", path);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/huge\.yaml: is 10 MiB \(\d+ bytes\), over the 1 MiB \(1048576 bytes\) limit for a manifest/);
  });

  it("says when the file does not exist", async () => {
    const result = await cluster.home.cli("deploy", "-f", join(dir, "nope.yaml"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("nope.yaml: no such file");
  });
});
