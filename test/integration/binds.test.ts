import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindPolicyKey } from "../../model/bind-policy.ts";
import { openStore } from "../../runtime/store.ts";
import { startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE, execIn } from "../harness/docker.ts";

/**
 * Bind mounts under the bind policy, against a real ployzd, NATS and dockerd, with `ployzctl`
 * run as a user runs it: refused until an operator allows a directory for the namespace, never
 * for `/etc`, the Docker socket and the like, and judged again by their real paths when the
 * container starts.
 */

let cluster: TestCluster;
let root: string;
beforeAll(async () => {
  cluster = await startTestCluster();
  root = mkdtempSync(join(tmpdir(), "ployz-binds-"));
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A directory of its own with a Compose file (one busybox service `web` with these volumes) and the files given. */
function project(name: string, volumes: unknown[], files: Record<string, string> = {}): { dir: string; file: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const file = join(dir, "compose.yaml");
  writeFileSync(file, JSON.stringify({ services: { web: { image: BUSYBOX_IMAGE, command: ["sleep", "300"], volumes } } }));
  return { dir, file };
}

const cli = (...args: string[]) => cluster.home.cli(...args);

async function runningContainer(ns: string) {
  const running = (await cluster.containersOf(ns)).filter((c) => c.State === "running");
  expect(running).toHaveLength(1);
  return await cluster.docker.getContainer(running[0]!.Id).inspect();
}

describe("bind mounts under the bind policy", () => {
  it("refuses a host path the namespace is not allowed, at planning and in --preview, naming service, volume, path and namespace; deploys it once allowed", async () => {
    const ns = cluster.namespace("binds-allow");
    const { dir, file } = project("allow", ["./data:/data"], { "data/hello.txt": "hello from the host\n" });
    const refusal = `services.web.volumes[0]: host path ${dir}/data is not allowed for namespace ${ns}`;

    const preview = await cli("deploy", "-f", file, "-n", ns, "--preview");
    expect(preview.code, preview.stdout).toBe(1);
    expect(preview.stderr).toContain(refusal);
    expect(preview.stderr).toContain(`ployzctl namespace allow-bind ${ns} DIR`);
    const refused = await cli("deploy", "-f", file, "-n", ns);
    expect(refused.code, refused.stdout).toBe(1);
    expect(refused.stderr).toContain(refusal);
    expect(await cluster.containersOf(ns)).toEqual([]);

    const allowed = await cli("namespace", "allow-bind", ns, `${dir}/`);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(`allowed: namespace ${ns} may bind-mount host paths under ${dir}\n`);
    expect((await cli("namespace", "allow-bind", ns, dir)).stdout).toContain(`already allowed: ${dir} for namespace ${ns}`);
    const binds = await cluster.home.json("namespace", "binds", ns);
    expect(binds).toMatchObject({ type: "bind-policy", namespace: ns, allowed: [dir], defaults: [], answeredBy: cluster.machineId });
    expect(binds.refused.map((r: { path: string }) => r.path)).toEqual(expect.arrayContaining(["/etc", "/run", "/var/run/docker.sock", "/var/lib/docker", cluster.home.dataDir]));

    const deployed = await cli("deploy", "-f", file, "-n", ns);
    expect(deployed.code, deployed.stderr).toBe(0);
    const info = await runningContainer(ns);
    expect(await execIn(cluster.docker, info.Id, ["cat", "/data/hello.txt"])).toEqual({ code: 0, output: "hello from the host" });

    // Taken back: the next deploy of the same spec is refused again (the running container keeps its mount).
    const disallowed = await cli("namespace", "disallow-bind", ns, dir);
    expect(disallowed.code, disallowed.stderr).toBe(0);
    expect(disallowed.stdout).toContain(`namespace ${ns} may bind-mount no host path`);
    const again = await cli("deploy", "-f", file, "-n", ns);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(refusal);
    const absent = await cli("namespace", "disallow-bind", ns, dir);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain(`${dir} is not allowed for namespace ${ns}: nothing to disallow`);
  }, 120_000);

  it("refuses to allow /, /etc, /var, the Docker socket, a parent of the data directory, or a path with ..", async () => {
    const ns = cluster.namespace("binds-refused");
    const cases: Array<[string, string]> = [
      ["/", "/ cannot be allowed for binds: it holds /etc (the machine's configuration)"],
      ["/etc", "/etc cannot be allowed for binds: it is the machine's configuration"],
      ["/var", "/var cannot be allowed for binds: it holds /var/run (runtime state, with the Docker socket)"],
      ["/var/run/docker.sock", "/var/run/docker.sock cannot be allowed for binds: it is the Docker socket"],
      [cluster.home.root, `${cluster.home.root} cannot be allowed for binds: it holds ${cluster.home.dataDir} (the Ployz data directory)`],
      ["/srv/app/../../etc", "namespace.allow-bind: path: must not contain .."],
      ["srv/app", "namespace.allow-bind: path: must be an absolute path"],
    ];
    for (const [path, message] of cases) {
      const result = await cli("namespace", "allow-bind", ns, path);
      expect(result.code, `${path}: ${result.stdout}`).toBe(1);
      expect(result.stderr).toContain(message);
    }
    expect((await cluster.home.json("namespace", "binds", ns)).allowed).toEqual([]);
  }, 60_000);

  it("honours :ro and read_only: the container cannot write there, and Docker has the bind read-only", async () => {
    const ns = cluster.namespace("binds-ro");
    const { dir, file } = project(
      "ro",
      ["./short:/short:ro", { type: "bind", source: "./long", target: "/long", read_only: true }, "./rw:/rw"],
      { "short/a.txt": "a\n", "long/b.txt": "b\n", "rw/.keep": "" },
    );
    expect((await cli("namespace", "allow-bind", ns, dir)).code).toBe(0);
    const deployed = await cli("deploy", "-f", file, "-n", ns);
    expect(deployed.code, deployed.stderr).toBe(0);
    const info = await runningContainer(ns);
    const mounts = Object.fromEntries(info.Mounts.map((m) => [m.Destination, { type: m.Type, source: m.Source, rw: m.RW }]));
    expect(mounts["/short"]).toEqual({ type: "bind", source: `${dir}/short`, rw: false });
    expect(mounts["/long"]).toEqual({ type: "bind", source: `${dir}/long`, rw: false });
    expect(mounts["/rw"]).toEqual({ type: "bind", source: `${dir}/rw`, rw: true });
    expect(info.HostConfig.Mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Type: "bind", Source: `${dir}/short`, Target: "/short", ReadOnly: true }),
        expect.objectContaining({ Type: "bind", Source: `${dir}/long`, Target: "/long", ReadOnly: true }),
      ]),
    );
    for (const target of ["/short", "/long"]) {
      const write = await execIn(cluster.docker, info.Id, ["sh", "-c", `echo x > ${target}/new`]);
      expect(write.code, target).not.toBe(0);
      expect(write.output).toContain("Read-only file system");
    }
    expect(existsSync(`${dir}/short/new`) || existsSync(`${dir}/long/new`)).toBe(false);
    expect(await execIn(cluster.docker, info.Id, ["sh", "-c", "echo x > /rw/new"])).toEqual({ code: 0, output: "" });
    expect(existsSync(`${dir}/rw/new`)).toBe(true);
  }, 120_000);

  it("refuses, when the container starts, a symlink in the allowed directory that leads outside it or to /etc, naming both paths", async () => {
    const ns = cluster.namespace("binds-link");
    const outside = join(root, "outside");
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "secret.txt"), "not for this namespace\n");
    const out = project("link-out", ["./link:/out"]);
    symlinkSync(outside, join(out.dir, "link"));
    const toEtc = project("link-etc", ["./link:/host-etc"]);
    symlinkSync("/etc", join(toEtc.dir, "link"));
    for (const dir of [out.dir, toEtc.dir]) expect((await cli("namespace", "allow-bind", ns, dir)).code).toBe(0);

    // Planning judges the text (inside the allowed directory); the machine that starts it judges where it leads.
    const outResult = await cli("deploy", "-f", out.file, "-n", ns);
    expect(outResult.code, outResult.stdout).toBe(1);
    expect(outResult.stderr).toContain("failed in phase start");
    expect(outResult.stderr).toContain(`services.web.volumes[0]: host path ${out.dir}/link (really ${outside}, through a symlink) is outside every directory allowed for namespace ${ns}`);
    const etcResult = await cli("deploy", "-f", toEtc.file, "-n", ns);
    expect(etcResult.code, etcResult.stdout).toBe(1);
    expect(etcResult.stderr).toContain(`services.web.volumes[0]: host path ${toEtc.dir}/link (really /etc, through a symlink) is refused for every namespace: it is the machine's configuration`);
    expect(await cluster.containersOf(ns)).toEqual([]);
  }, 120_000);

  it("refuses a source that does not exist, naming it, instead of letting Docker make it", async () => {
    const ns = cluster.namespace("binds-missing");
    const { dir, file } = project("missing", ["./not-there:/data"]);
    expect((await cli("namespace", "allow-bind", ns, dir)).code).toBe(0);
    const result = await cli("deploy", "-f", file, "-n", ns);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toContain(`services.web.volumes[0]: host path ${dir}/not-there does not exist on machine ${cluster.machineId}`);
    expect(existsSync(join(dir, "not-there"))).toBe(false);
    expect(await cluster.containersOf(ns)).toEqual([]);
  }, 120_000);

  it("fails a deploy with binds loudly when the namespace's policy cannot be read, rather than judging on nothing", async () => {
    const ns = cluster.namespace("binds-bad-policy");
    const { dir, file } = project("bad-policy", ["./data:/data"], { "data/x": "x\n" });
    const nc = await connectAsMachine(cluster.home);
    try {
      const store = await openStore(nc);
      await store.kv.policy.put(bindPolicyKey(ns), JSON.stringify({ type: "bind-policy", namespace: ns, allowed: [dir, "/"], updatedAt: "x", extra: true }));
      const result = await cli("deploy", "-f", file, "-n", ns);
      expect(result.code, result.stdout).toBe(1);
      expect(result.stderr).toContain(`the bind policy of ${ns} (KV policy, key binds.${ns}) is invalid; refusing to judge bind mounts on it`);
      expect(await cluster.containersOf(ns)).toEqual([]);
      await store.kv.policy.purge(bindPolicyKey(ns));
    } finally {
      await nc.close();
    }
  }, 60_000);
});
