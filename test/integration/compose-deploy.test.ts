import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSubject } from "../../actors/store/read-subject.ts";
import { openStore } from "../../runtime/store.ts";
import { volumeName } from "../../model/instance.ts";
import { runCli } from "../harness/cli.ts";
import { startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE, execIn } from "../harness/docker.ts";

/**
 * Compose files deployed with `ployzctl deploy` as a user runs it, against a real ployzd and
 * dockerd: every supported attribute is checked on the container Docker really made.
 */

let cluster: TestCluster;
let dir: string;
const run = randomBytes(3).toString("hex");
const LEGACY_VOLUME = `ployz-test-legacy-${run}`;
const SECRET_VALUE = `s3cret-${randomBytes(6).toString("hex")}`;
const TOKEN_V1 = `token-one-${randomBytes(6).toString("hex")}`;
const TOKEN_V2 = `token-two-${randomBytes(6).toString("hex")}`;

beforeAll(async () => {
  cluster = await startTestCluster();
  dir = mkdtempSync(join(tmpdir(), "ployz-compose-"));
  // An existing Docker volume with data in it, for external: true.
  await cluster.docker.createVolume({ Name: LEGACY_VOLUME });
  const writer = await cluster.docker.createContainer({
    Image: BUSYBOX_IMAGE,
    Cmd: ["/bin/sh", "-c", "echo legacy data > /v/file"],
    HostConfig: { Binds: [`${LEGACY_VOLUME}:/v`] },
  });
  await writer.start();
  await writer.wait();
  await writer.remove();
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cluster?.dispose();
  await cluster?.docker.getVolume(LEGACY_VOLUME).remove().catch(() => undefined);
});

/** A directory with a Compose file and what it refers to. */
function project(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return join(root, "compose.yaml");
}

const deploy = (file: string, ns: string, env: NodeJS.ProcessEnv = {}, ...args: string[]) => runCli(["deploy", "-f", file, "-n", ns, ...args], { ...cluster.home.env, ...env });

async function containerOf(ns: string, service: string): Promise<Docker.ContainerInspectInfo> {
  const found = (await cluster.containersOf(ns)).filter((c) => c.Labels["ployz.service"] === service);
  expect(found).toHaveLength(1);
  return await cluster.docker.getContainer(found[0]!.Id).inspect();
}

const sh = async (id: string, script: string) => await execIn(cluster.docker, id, ["/bin/sh", "-c", script]);

const APP = `
name: ignored-because-of-n
x-common: &common
  image: \${IMAGE:-${BUSYBOX_IMAGE}}
  init: true
services:
  app:
    <<: *common
    command: ["/bin/sh", "-c", "exec httpd -f -p 8080 -h /srv/www"]
    user: "1000:1000"
    working_dir: /srv
    env_file: [app.env]
    environment:
      MODE: staging
      GREETING: \${GREETING:?set GREETING}
      FROM_DOTENV: \${ONLY_IN_DOTENV}
      PRICE: "$$5"
    stop_signal: SIGQUIT
    stop_grace_period: 3s
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    read_only: true
    tmpfs: ["/run:size=1m,mode=1777"]
    volumes:
      - data:/data
      - legacy:/legacy:ro
      - type: tmpfs
        target: /scratch
        tmpfs: { size: 2097152 }
    ulimits:
      nofile: { soft: 1024, hard: 2048 }
      nproc: 200
    configs:
      - source: page
        target: /srv/www/index.html
        uid: "1000"
        gid: "1000"
        mode: 0440
    secrets:
      - source: db_password
        uid: "1000"
        mode: 0400
      - source: api_token
        target: token
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 500ms
      timeout: 2s
      retries: 20
    restart: on-failure
    deploy:
      placement:
        constraints: ["node.labels.region == local"]
    networks: [default]
    container_name: not-used
    x-notes: ignored
  debug:
    <<: *common
    command: ["sleep", "300"]
    profiles: [debug]
    healthcheck:
      disable: true
volumes:
  data:
    name: app-data
    driver: local
  legacy:
    external: true
    name: ${LEGACY_VOLUME}
configs:
  page:
    file: ./www/index.html
secrets:
  db_password:
    file: ./secrets/db.txt
  api_token:
    environment: API_TOKEN
`;

function appProject(name: string): string {
  return project(name, {
    "compose.yaml": APP,
    ".env": "GREETING=from the .env file\nONLY_IN_DOTENV=dotenv value\n",
    "app.env": "# from env_file\nMODE=production\nWORKERS=4\n",
    "www/index.html": "<p>compose app</p>\n",
    "secrets/db.txt": SECRET_VALUE,
  });
}

describe("a Compose file with every supported attribute", () => {
  it("deploys a container that really has each of them, and keeps secret values out of everything but the container", async () => {
    const ns = cluster.namespace("compose-all");
    const file = appProject("all");
    const env = { GREETING: "from the shell", API_TOKEN: TOKEN_V1 };

    const preview = await deploy(file, ns, env, "--preview");
    expect(preview.code, preview.stderr).toBe(0);
    expect(await storedSecretKeys(ns)).toEqual([]); // a preview stores nothing

    const result = await deploy(file, ns, env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`deployed namespace ${ns}: commit \\d+`));
    expect((await cluster.containersOf(ns)).map((c) => c.Labels["ployz.service"])).toEqual(["app"]); // debug is in a profile

    const info = await containerOf(ns, "app");
    expect(info.Config.User).toBe("1000:1000");
    expect(info.Config.WorkingDir).toBe("/srv");
    expect(info.Config.Env).toEqual(
      expect.arrayContaining(["MODE=staging", "WORKERS=4", "GREETING=from the shell", "FROM_DOTENV=dotenv value", "PRICE=$5"]),
    );
    const config = info.Config as Docker.ContainerInspectInfo["Config"] & { StopSignal?: string; StopTimeout?: number };
    expect(config.StopSignal).toBe("SIGQUIT");
    expect(config.StopTimeout).toBe(3);
    expect(info.Config.Healthcheck).toEqual({ Test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"], Interval: 500e6, Timeout: 2e9, Retries: 20 });
    expect(info.HostConfig.CapAdd).toEqual(["NET_ADMIN"]);
    expect(info.HostConfig.CapDrop).toEqual(["MKNOD"]);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Init).toBe(true);
    expect(info.HostConfig.RestartPolicy?.Name).toBe("on-failure");
    expect(info.HostConfig.Tmpfs).toEqual({ "/run": "size=1048576,mode=1777", "/scratch": "size=2097152" });
    expect(info.HostConfig.Ulimits).toEqual(
      expect.arrayContaining([
        { Name: "nofile", Soft: 1024, Hard: 2048 },
        { Name: "nproc", Soft: 200, Hard: 200 },
      ]),
    );
    const mounts = Object.fromEntries(info.Mounts.map((m) => [m.Destination, { type: m.Type, name: m.Name, rw: m.RW }]));
    expect(mounts["/data"]).toEqual({ type: "volume", name: volumeName(ns, "app-data"), rw: true });
    expect(mounts["/legacy"]).toEqual({ type: "volume", name: LEGACY_VOLUME, rw: false });
    expect(mounts["/srv/www/index.html"]).toMatchObject({ type: "bind", rw: false });
    expect(mounts["/run/secrets/db_password"]).toMatchObject({ type: "bind", rw: false });
    expect(mounts["/run/secrets/token"]).toMatchObject({ type: "bind", rw: false });

    // What the process inside sees.
    const id = info.Id;
    expect(await sh(id, "id -u; id -g; pwd")).toEqual({ code: 0, output: "1000\n1000\n/srv" });
    expect(await sh(id, "stat -c '%u %g %a' /srv/www/index.html /run/secrets/db_password /run/secrets/token")).toEqual({
      code: 0,
      output: "1000 1000 440\n1000 0 400\n0 0 444",
    });
    expect(await sh(id, "cat /run/secrets/db_password; echo; cat /run/secrets/token")).toEqual({ code: 0, output: `${SECRET_VALUE}\n${TOKEN_V1}` });
    expect(await sh(id, "cat /legacy/file")).toEqual({ code: 0, output: "legacy data" });
    // The container's own process (what an exec'd shell reports depends on how the exec is set up).
    const limits = (await sh(id, "cat /proc/1/limits")).output;
    expect(limits).toMatch(/^Max open files\s+1024\s+2048\s+files\s*$/m);
    expect(limits).toMatch(/^Max processes\s+200\s+200\s+processes\s*$/m);
    // Bounding set: NET_ADMIN (bit 12) added, MKNOD (bit 27) dropped.
    const bounding = BigInt(`0x${(await sh(id, "grep CapBnd /proc/self/status | cut -f2")).output}`);
    expect([(bounding >> 12n) & 1n, (bounding >> 27n) & 1n]).toEqual([1n, 0n]);
    expect((await sh(id, "touch /x")).code).not.toBe(0); // read-only root
    expect(await sh(id, "touch /run/x /scratch/y && echo ok")).toEqual({ code: 0, output: "ok" });
    expect((await sh(id, "wget -q -O - http://127.0.0.1:8080/")).output).toBe("<p>compose app</p>");

    // The values are in the container and in KV secrets, and nowhere else a person or a log sees.
    expect(await storedSecretKeys(ns)).toHaveLength(2);
    const ps = await cluster.home.cli("ps", "-n", ns, "--json");
    const history = await cluster.home.cli("history", "-n", ns, "--json");
    const explain = await cluster.home.cli("explain", "-n", ns, "app");
    const logs = readdirSync(join(cluster.home.dataDir, "logs")).map((f) => readFileSync(join(cluster.home.dataDir, "logs", f), "utf8"));
    for (const text of [result.stdout, result.stderr, ps.stdout, history.stdout, explain.stdout, JSON.stringify(info.Config), ...logs, await commitStream(ns)]) {
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain(TOKEN_V1);
    }
    expect(explain.stdout).toContain(`${cluster.machineId} (region local): CHOSEN`);
  }, 180_000);

  it("a profile deploys its services too; the same files again change nothing; a new secret value replaces the container, and a rollback brings the old value back", async () => {
    const ns = cluster.namespace("compose-secrets");
    const file = appProject("secrets");
    const env = { GREETING: "hi", API_TOKEN: TOKEN_V1 };
    expect((await deploy(file, ns, env)).code).toBe(0);
    const first = (await containerOf(ns, "app")).Id;

    const same = await deploy(file, ns, env);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain("already running this spec: nothing to do");

    const withDebug = await deploy(file, ns, env, "--profile", "debug");
    expect(withDebug.code, withDebug.stderr).toBe(0);
    expect((await cluster.containersOf(ns)).map((c) => c.Labels["ployz.service"]).sort()).toEqual(["app", "debug"]);
    expect((await containerOf(ns, "app")).Id).toBe(first); // app did not change
    expect((await containerOf(ns, "debug")).Config.Healthcheck).toEqual({ Test: ["NONE"] }); // disable: true

    const changed = await deploy(file, ns, { ...env, API_TOKEN: TOKEN_V2 }, "--profile", "debug");
    expect(changed.code, changed.stderr).toBe(0);
    const second = await containerOf(ns, "app");
    expect(second.Id).not.toBe(first);
    expect(await sh(second.Id, "cat /run/secrets/token")).toEqual({ code: 0, output: TOKEN_V2 });

    await cluster.client.rollback(ns);
    const back = await containerOf(ns, "app");
    expect(await sh(back.Id, "cat /run/secrets/token")).toEqual({ code: 0, output: TOKEN_V1 });
  }, 180_000);
});

describe("what a Compose deploy refuses", () => {
  it("an external volume that does not exist, naming it; the previous commit keeps running", async () => {
    const ns = cluster.namespace("compose-noext");
    const good = project("ext-good", { "compose.yaml": `services:\n  web:\n    image: ${BUSYBOX_IMAGE}\n    command: sleep 300\n` });
    expect((await deploy(good, ns)).code).toBe(0);
    const before = (await cluster.containersOf(ns)).map((c) => c.Id);
    const missing = `ployz-test-missing-${run}`;
    const bad = project("ext-missing", {
      "compose.yaml": `services:\n  web:\n    image: ${BUSYBOX_IMAGE}\n    command: sleep 301\n    volumes: [old:/old]\nvolumes:\n  old:\n    external: true\n    name: ${missing}\n`,
    });
    const result = await deploy(bad, ns);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`failed in phase start`);
    expect(result.stderr).toContain(`external volume "${missing}" does not exist on machine ${cluster.machineId}`);
    expect((await cluster.containersOf(ns)).map((c) => c.Id)).toEqual(before);
    await expect(cluster.docker.getVolume(missing).inspect()).rejects.toMatchObject({ statusCode: 404 }); // not created behind our back
  }, 120_000);

  it("attributes Ployz cannot honour and variables that are not set, each at its path, deploying nothing", async () => {
    const ns = cluster.namespace("compose-refused");
    const file = project("refused", {
      "compose.yaml": [
        "services:",
        "  web:",
        "    image: ${IMAGE:?set IMAGE to the image to run}",
        "    privileged: true",
        "    build: .",
        "    mem_limit: 1g",
        "    volumes: [data:/data]",
        "volumes:",
        "  data:",
        "    driver: nfs",
        "",
      ].join("\n"),
    });
    const result = await deploy(file, ns);
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n").filter(Boolean)).toEqual([
      `error: ${file}: services.web.image: required variable IMAGE is not set: set IMAGE to the image to run`,
      `${file}: volumes.data.driver: "nfs": only the local driver (the default); Ployz manages where volumes live`,
      `${file}: services.web.privileged: Ployz does not support "privileged" — Ployz does not give containers access to the machine beyond their mounts`,
      `${file}: services.web.build: Ployz does not support "build" — build the image and push it (docker build, then ployzctl image push), then name it in image:`,
      `${file}: services.web.mem_limit: Ployz does not support "mem_limit" — use deploy.resources.limits.memory`,
    ]);
    expect(await cluster.containersOf(ns)).toEqual([]);
  });

  it("a secret file outside the Compose file's directory, before connecting anywhere", async () => {
    const file = project("outside", {
      "compose.yaml": `services:\n  web:\n    image: ${BUSYBOX_IMAGE}\n    secrets: [key]\nsecrets:\n  key:\n    file: ../../etc/ssh_host_key\n`,
    });
    const result = await runCli(["deploy", "-f", file, "-n", "nowhere", "--context", "no-such-context"], cluster.home.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: secrets.key.file: "../../etc/ssh_host_key" is outside the directory of ${file}; files it refers to must be beside it`);
  });
});

/** Keys of the namespace's secrets in KV `secrets`. */
async function storedSecretKeys(ns: string): Promise<string[]> {
  const nc = await connectAsMachine(cluster.home);
  try {
    const store = await openStore(nc);
    const keys: string[] = [];
    for await (const key of await store.kv.secrets.keys(`svc.${ns}.>`)) keys.push(key);
    return keys.sort();
  } finally {
    await nc.close();
  }
}

/** Every message of the namespace's commits, as text. */
async function commitStream(ns: string): Promise<string> {
  const nc = await connectAsMachine(cluster.home);
  try {
    const store = await openStore(nc);
    const messages = await readSubject(store.js, store.jsm, "COMMITS", `commits.${ns}`);
    expect(messages.length).toBeGreaterThan(0);
    return JSON.stringify(messages);
  } finally {
    await nc.close();
  }
}
