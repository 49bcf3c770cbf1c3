import { describe, expect, it } from "vitest";
import { composeToSpec, profilesFromEnvironment, type ComposeOptions } from "../../model/compose.ts";
import { containerOptions } from "../../model/container-options.ts";
import { ManifestError, NotFoundError } from "../../model/errors.ts";
import { namespaceSpecSchema } from "../../model/manifest.ts";
import { secretVersion } from "../../model/service-secrets.ts";
import { thrownBy } from "../fixtures/errors.ts";

const KEY = new Uint8Array(32).fill(7);
const files: Record<string, string | Uint8Array> = {
  "/srv/app/app.env": "# settings\nMODE=production\nWORKERS=4\nGREETING=hello ${WHO:-world}\n",
  "/srv/app/override.env": "WORKERS=8\n",
  "/srv/app/secrets/db.txt": new Uint8Array([0x70, 0x77, 0x00, 0xff]),
};
const options: ComposeOptions = {
  fileName: "compose.yaml",
  baseDir: "/srv/app",
  environment: { API_TOKEN: "tok-123" },
  secretKey: KEY,
  readFile: (path) => {
    const content = files[path];
    if (content === undefined) throw new NotFoundError("no such file");
    return content;
  },
};

type Doc = Record<string, unknown>;
const convert = (doc: Doc, extra: Partial<ComposeOptions> = {}) => composeToSpec(doc, { ...options, ...extra });
const compose = (web: Doc = {}, top: Doc = {}): Doc => ({ name: "app", services: { web: { image: "busybox", ...web } }, ...top });
const web = (fields: Doc, top: Doc = {}, extra: Partial<ComposeOptions> = {}) => convert(compose(fields, top), extra).spec.services.web!;
const problems = (doc: Doc, extra: Partial<ComposeOptions> = {}) =>
  thrownBy(ManifestError, () => convert(doc, extra))
    .message.split("\n")
    .map((line) => line.replace(/^compose\.yaml: /, ""));

describe("container fields", () => {
  it("user, working_dir, stop_signal, stop_grace_period, caps, read_only, ulimits, tmpfs", () => {
    const service = web({
      user: 1000,
      working_dir: "/srv",
      stop_signal: "SIGQUIT",
      stop_grace_period: "1m30s",
      cap_add: ["NET_ADMIN"],
      cap_drop: ["ALL"],
      read_only: true,
      init: true,
      ulimits: { nofile: { soft: 1024, hard: "4096" }, nproc: 512 },
      tmpfs: ["/run", "/cache:size=64m,mode=1770"],
      volumes: [{ type: "tmpfs", target: "/scratch", tmpfs: { size: 1048576, mode: "0700" } }],
    });
    expect(service).toMatchObject({
      user: "1000",
      workingDir: "/srv",
      stopSignal: "SIGQUIT",
      stopGracePeriod: 90_000,
      capAdd: ["NET_ADMIN"],
      capDrop: ["ALL"],
      readOnly: true,
      ulimits: { nofile: { soft: 1024, hard: 4096 }, nproc: { soft: 512, hard: 512 } },
      tmpfs: [{ target: "/run" }, { target: "/cache", size: 64 * 1024 ** 2, mode: 0o1770 }, { target: "/scratch", size: 1048576, mode: 0o700 }],
      volumes: [],
    });
  });

  it("a spec without them is unchanged (so deployed services keep their revisions)", () => {
    expect(Object.keys(web({}))).toEqual(["image", "env", "ports", "mode", "replicas", "resources", "stateful", "placement", "restart", "routes", "volumes", "configs", "labels", "dependsOn"]);
  });

  it("tmpfs as one string", () => {
    expect(web({ tmpfs: "/run" }).tmpfs).toEqual([{ target: "/run" }]);
  });

  it.each<[Doc, string]>([
    [{ user: "root user" }, "services.web.user: must be USER or USER:GROUP (names or numeric ids)"],
    [{ working_dir: "srv" }, "services.web.working_dir: must be an absolute path"],
    [{ stop_signal: "sigterm" }, "services.web.stop_signal: must be a signal like SIGTERM, SIGQUIT or 15"],
    [{ stop_grace_period: "soon" }, 'services.web.stop_grace_period: "soon" is not a duration like 500ms, 2s, 1m30s'],
    [{ cap_add: ["net admin"] }, "services.web.cap_add[0]: must be a capability like NET_ADMIN, CAP_CHOWN or ALL"],
    [{ read_only: "yes" }, 'services.web.read_only: expected a boolean, got "yes"'],
    [{ init: false }, "services.web.init: Ployz always runs an init as PID 1, so that stops are graceful; remove init: false"],
    [{ ulimits: { files: 10 } }, 'services.web.ulimits.files: "files" is not a limit Docker knows (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)'],
    [{ ulimits: { nofile: { soft: 10, hard: 5 } } }, "services.web.ulimits.nofile: soft must not be above hard"],
    [{ ulimits: { nofile: { soft: "many", hard: 5 } } }, 'services.web.ulimits.nofile.soft: expected a number, got "many"'],
    [{ tmpfs: ["/run:noexec"] }, 'services.web.tmpfs[0]: "/run:noexec": option "noexec" is not supported; write PATH, PATH:size=64m or PATH:size=64m,mode=1777'],
    [{ tmpfs: ["run"] }, "services.web.tmpfs[0]: must be an absolute path"],
    [{ volumes: [{ type: "tmpfs", target: "/x", read_only: true }] }, 'services.web.volumes[0].read_only: Ployz does not support "read_only" — a read-only tmpfs stays empty'],
    [{ volumes: [{ type: "tmpfs", target: "/x", tmpfs: { size: "lots" } }] }, 'services.web.volumes[0].tmpfs.size: "lots" is not a memory size like 128Mi, 512m, 1g'],
    [{ scale: 2, deploy: { replicas: 3 } }, "services.web.deploy.replicas: is 3 but scale: is 2; write one of them"],
  ])("refuses %j at its path", (fields, message) => {
    expect(problems(compose(fields))).toEqual([message]);
  });

  it("scale is the replica count", () => {
    expect(web({ scale: 3 }).replicas).toBe(3);
    expect(web({ scale: 3, deploy: { replicas: 3 } }).replicas).toBe(3);
  });
});

describe("healthcheck", () => {
  it("CMD and CMD-SHELL become a readiness probe and the container's own healthcheck", () => {
    expect(web({ healthcheck: { test: ["CMD", "true"], interval: "2s", retries: 4 } })).toMatchObject({
      readiness: { type: "exec", command: ["true"], interval: 2000, timeout: 30_000, retries: 4, startPeriod: 0 },
      healthcheck: { test: ["CMD", "true"], interval: 2000, retries: 4 },
    });
    expect(web({ healthcheck: { test: "test -f /ok" } }).healthcheck).toEqual({ test: ["CMD-SHELL", "test -f /ok"] });
  });

  it("NONE and disable: true turn off the image's own healthcheck and wait for no probe", () => {
    for (const healthcheck of [{ test: ["NONE"] }, { disable: true }, { disable: true, test: ["CMD", "x"] }]) {
      const service = web({ healthcheck });
      expect(service.readiness).toBeUndefined();
      expect(service.healthcheck).toEqual({ test: ["NONE"] });
    }
  });

  it("reports a bad value once, at its Compose path", () => {
    expect(problems(compose({ healthcheck: { test: "true", interval: "soon" } }))).toEqual(['services.web.healthcheck.interval: "soon" is not a duration like 500ms, 2s, 1m30s']);
  });
});

describe("env_file", () => {
  it("reads the files beside the Compose file; later files and then environment: win", () => {
    const service = web({ env_file: ["app.env", { path: "./override.env" }], environment: { MODE: "staging" } });
    expect(service.env).toEqual({ MODE: "staging", WORKERS: "8", GREETING: "hello world" });
    expect(web({ env_file: "app.env" }, {}, { environment: { WHO: "ployz" } }).env.GREETING).toBe("hello ployz");
  });

  it("skips a missing file only when required: false", () => {
    expect(web({ env_file: [{ path: "missing.env", required: false }, "app.env"] }).env.MODE).toBe("production");
    expect(problems(compose({ env_file: "missing.env" }))).toEqual(['services.web.env_file: cannot read "missing.env": no such file']);
  });

  it.each<[unknown, string]>([
    ["../etc/app.env", 'services.web.env_file: "../etc/app.env" is outside the directory of compose.yaml; files it refers to must be beside it'],
    [[{ path: "app.env", format: "raw" }], 'services.web.env_file[0].format: Ployz reads env files only in Compose\'s own format; remove format: "raw"'],
    [[5], "services.web.env_file[0]: expected a path, got 5"],
  ])("refuses %j", (envFile, message) => {
    expect(problems(compose({ env_file: envFile }))).toEqual([message]);
  });

  it("names the file and line of a bad entry, and the variable it names at its path", () => {
    const bad = { ...options, readFile: () => "A=1\nB\n" };
    expect(problems(compose({ env_file: "app.env" }), bad)).toEqual(['services.web.env_file: "app.env": line 2: B has no value: write B=VALUE (or B=${B} to take it from your environment)']);
    const badName = { ...options, readFile: () => "BAD.NAME=1\n" };
    expect(problems(compose({ env_file: "app.env" }), badName)).toEqual(["services.web.env_file: must be an environment variable name"]);
  });
});

describe("profiles", () => {
  const doc = {
    name: "app",
    services: {
      web: { image: "busybox" },
      debug: { image: "busybox", profiles: ["debug"] },
      db: { image: "busybox", profiles: ["db", "full"] },
    },
  };
  const names = (profiles: string[]) => Object.keys(convert(doc, { profiles }).spec.services).sort();

  it("deploys only services without profiles, unless a profile is active", () => {
    expect(names([])).toEqual(["web"]);
    expect(names(["debug"])).toEqual(["debug", "web"]);
    expect(names(["full"])).toEqual(["db", "web"]);
    expect(names(["*"])).toEqual(["db", "debug", "web"]);
  });

  it("refuses a dependency on a service left out, naming the profile to pass", () => {
    const withDep = { ...doc, services: { ...doc.services, web: { image: "busybox", depends_on: ["db"] } } };
    expect(problems(withDep)).toEqual(['services.web.depends_on[0]: depends on "db", which is only in profile "db", "full": pass --profile db']);
    expect(Object.keys(convert(withDep, { profiles: ["db"] }).spec.services).sort()).toEqual(["db", "web"]);
  });

  it("says so when every service is in an inactive profile", () => {
    expect(problems({ name: "app", services: { a: { image: "x", profiles: ["p"] } } })).toEqual([
      "services: every service is in a profile and none is active: pass --profile NAME (or set COMPOSE_PROFILES)",
    ]);
  });

  it("COMPOSE_PROFILES is a comma-separated list", () => {
    expect(profilesFromEnvironment("debug, full,,")).toEqual(["debug", "full"]);
    expect(profilesFromEnvironment(undefined)).toEqual([]);
  });
});

describe("volumes: name, driver, external", () => {
  it("name: is the volume's name in the namespace; driver: local is the default", () => {
    const { spec } = convert(compose({ volumes: ["data:/data", { type: "volume", source: "data", target: "/also" }] }, { volumes: { data: { name: "pg-data", driver: "local" } } }));
    expect(spec.volumes).toEqual({ "pg-data": { external: false } });
    expect(spec.services.web!.volumes.map((v) => v.source)).toEqual(["pg-data", "pg-data"]);
  });

  it("external: true mounts the Docker volume of that name (name:, else the key); the deprecated external.name too", () => {
    const { spec } = convert(
      compose(
        { volumes: ["legacy:/legacy:ro", "plain:/plain", "old:/old"] },
        { volumes: { legacy: { external: true, name: "legacy_data" }, plain: { external: true }, old: { external: { name: "old_db" } } } },
      ),
    );
    expect(spec.volumes).toEqual({ legacy: { external: true, name: "legacy_data" }, plain: { external: true }, old: { external: true, name: "old_db" } });
    expect(spec.services.web!.volumes).toEqual([
      { type: "volume", source: "legacy", target: "/legacy", readOnly: true, external: "legacy_data" },
      { type: "volume", source: "plain", target: "/plain", readOnly: false, external: "plain" },
      { type: "volume", source: "old", target: "/old", readOnly: false, external: "old_db" },
    ]);
  });

  it.each<[Doc, string[]]>([
    [{ data: { name: "project_db_data" } }, ['volumes.data.name: "project_db_data": a Ployz volume name is 1–63 lowercase letters, digits or inner dashes; write one like "project-db-data", or add external: true to mount the existing Docker volume "project_db_data"']],
    [{ data: { driver: "nfs" } }, ['volumes.data.driver: "nfs": only the local driver (the default); Ployz manages where volumes live']],
    [{ data: { external: true, name: "bad name" } }, ["volumes.data.name: must be a Docker volume name: letters, digits, _ . -"]],
    [{ data: { external: { name: "a" }, name: "b" } }, ["volumes.data.external.name: give the name once: name: beside external: true"]],
    [{ a: { name: "shared" }, b: { name: "shared" } }, []],
  ])("%j", (volumes, expected) => {
    if (expected.length === 0) expect(convert(compose({}, { volumes })).spec.volumes).toEqual({ shared: { external: false } });
    else expect(problems(compose({}, { volumes }))).toEqual(expected);
  });
});

describe("configs: uid, gid, mode, environment", () => {
  it("maps owner and mode", () => {
    const service = web({ configs: [{ source: "motd", target: "/etc/motd", uid: "1000", gid: "100", mode: 0o440 }] }, { configs: { motd: { content: "hi" } } });
    expect(service.configs).toEqual([{ target: "/etc/motd", content: "hi", uid: 1000, gid: 100, mode: 0o440 }]);
  });

  it("takes the content of a variable", () => {
    expect(web({ configs: ["token"] }, { configs: { token: { environment: "API_TOKEN" } } }).configs[0]!.content).toBe("tok-123");
    expect(problems(compose({ configs: ["t"] }, { configs: { t: { environment: "NOPE" } } }))).toEqual([
      "configs.t.environment: variable NOPE is not set: set it in your environment or in .env beside the Compose file",
    ]);
  });
});

describe("secrets", () => {
  const top = { secrets: { db_password: { file: "./secrets/db.txt" }, api_token: { environment: "API_TOKEN" }, unused: { file: "missing.txt" } } };

  it("mounts a version, never the value, and hands the values back to be stored", () => {
    const { spec, secrets } = convert(compose({ secrets: ["db_password", { source: "api_token", target: "token", uid: "1000", gid: "1000", mode: 0o400 }] }, top));
    const dbVersion = secretVersion(KEY, "app", "db_password", files["/srv/app/secrets/db.txt"] as Uint8Array);
    const apiVersion = secretVersion(KEY, "app", "api_token", new TextEncoder().encode("tok-123"));
    expect(spec.services.web!.secrets).toEqual([
      { source: "db_password", version: dbVersion, target: "/run/secrets/db_password", mode: 0o444 },
      { source: "api_token", version: apiVersion, target: "/run/secrets/token", uid: 1000, gid: 1000, mode: 0o400 },
    ]);
    expect(JSON.stringify(spec)).not.toContain("tok-123");
    expect(secrets.map((s) => [s.namespace, s.name, s.version, Buffer.from(s.value).toString("hex")])).toEqual([
      ["app", "db_password", dbVersion, "707700ff"],
      ["app", "api_token", apiVersion, Buffer.from("tok-123").toString("hex")],
    ]);
  });

  it("the same value keeps its version; another value, namespace or key changes it", () => {
    const version = (value: string, ns = "app", key = KEY) => secretVersion(key, ns, "s", new TextEncoder().encode(value));
    expect(version("a")).toBe(version("a"));
    expect(new Set([version("a"), version("b"), version("a", "other"), version("a", "app", new Uint8Array(32))]).size).toBe(4);
  });

  it.each<[Doc, Doc, string]>([
    [{ secrets: ["nope"] }, top, 'services.web.secrets[0]: secret "nope" is not declared under top-level secrets:'],
    [{ secrets: ["s"] }, { secrets: { s: { environment: "NOPE" } } }, "secrets.s.environment: variable NOPE is not set: set it in your environment or in .env beside the Compose file"],
    [{ secrets: ["s"] }, { secrets: { s: {} } }, "secrets.s: needs exactly one of file: or environment:"],
    [{ secrets: ["s"] }, { secrets: { s: { file: "missing.txt" } } }, 'secrets.s.file: cannot read "missing.txt": no such file'],
    [{ secrets: ["s"] }, { secrets: { s: { external: true } } }, 'secrets.s.external: Ployz does not support "external" — give the value with file: or environment:\nsecrets.s: needs exactly one of file: or environment:'],
    [{ secrets: ["my.secret"] }, { secrets: { "my.secret": { environment: "API_TOKEN" } } }, 'secrets["my.secret"]: secret name must be 1–63 letters, digits, _ or - (no dots)'],
    [{ secrets: [{ source: "api_token", uid: "app" }] }, top, 'services.web.secrets[0].uid: "app" is not a numeric id: write the number (e.g. "1000")'],
    [{ secrets: [{ source: "api_token", target: "../../etc/x" }] }, top, "services.web.secrets[0].target: must not contain .."],
  ])("refuses %j", (fields, topLevel, message) => {
    expect(problems(compose(fields, topLevel))).toEqual(message.split("\n"));
  });

  it("needs the cluster's key, which only a deploy has", () => {
    expect(problems(compose({ secrets: ["api_token"] }, top), { secretKey: undefined })).toEqual([
      "secrets.api_token: secrets are kept in the cluster's secret store: deploy this file with ployzctl deploy",
    ]);
  });
});

describe("deploy.placement", () => {
  it("constraints on node.labels.region and zone", () => {
    expect(web({ deploy: { placement: { constraints: ["node.labels.region == eu", "node.labels.zone==a", "node.labels.region == eu"] } } }).placement).toEqual({ regions: ["eu"], zones: ["a"] });
  });

  it.each<[unknown, string]>([
    [["node.role == manager"], 'services.web.deploy.placement.constraints[0]: "node.role == manager": Ployz places by node.labels.region == REGION and node.labels.zone == ZONE only'],
    [["node.labels.region != eu"], 'services.web.deploy.placement.constraints[0]: "node.labels.region != eu": Ployz cannot exclude a region; list the region it may use with =='],
    [["node.labels.zone == a", "node.labels.zone == b"], 'services.web.deploy.placement.constraints[1]: "node.labels.zone == b": a machine is in one zone, and another constraint already asks for a'],
    [["node.labels.region == EU"], "services.web.deploy.placement.constraints[0]: region must be 1–63 lowercase letters, digits or inner dashes"],
  ])("refuses %j", (constraints, message) => {
    expect(problems(compose({ deploy: { placement: { constraints } } }))).toEqual([message]);
  });

  it("refuses preferences, saying why", () => {
    expect(problems(compose({ deploy: { placement: { preferences: [{ spread: "node.labels.zone" }] } } }))).toEqual([
      'services.web.deploy.placement.preferences: Ployz does not support "preferences" — Ployz spreads replicas over zones, then machines, by itself',
    ]);
  });
});

describe("external volumes in a Ployz manifest", () => {
  const spec = (volumes: Doc, mount: Doc = {}) =>
    namespaceSpecSchema.safeParse({ namespace: "app", volumes, services: { web: { image: "busybox", volumes: [{ type: "volume", source: "v", target: "/v", ...mount }] } } });

  it("every mount of an external volume carries the Docker volume's name; parsing again changes nothing", () => {
    const parsed = spec({ v: { external: true, name: "legacy_v" } });
    expect(parsed.success && parsed.data.services.web!.volumes[0]).toMatchObject({ external: "legacy_v" });
    expect(parsed.success && namespaceSpecSchema.parse(parsed.data)).toEqual(parsed.success && parsed.data);
  });

  it("refuses a name without external, and a mount that disagrees", () => {
    expect(spec({ v: { name: "x" } }).error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["volumes.v.name", "names an existing Docker volume: only with external: true"]]);
    expect(spec({ v: {} }, { external: "v" }).error?.issues.map((i) => i.message)).toEqual(['volume "v" is not external: set external: true on it under top-level volumes']);
    expect(spec({ v: { external: true } }, { external: "w" }).error?.issues.map((i) => i.message)).toEqual(['must be "v", the name the top-level volume gives']);
  });
});

describe("containerOptions: the spec's fields as Docker's", () => {
  it("maps every field", () => {
    const service = web(
      {
        user: "1000:1000",
        working_dir: "/srv",
        stop_signal: "SIGQUIT",
        stop_grace_period: "1500ms",
        cap_add: ["NET_ADMIN"],
        cap_drop: ["MKNOD"],
        read_only: true,
        tmpfs: ["/run", "/cache:size=64m,mode=1770"],
        ulimits: { nofile: { soft: 1024, hard: 4096 } },
        healthcheck: { test: ["CMD", "true"], interval: "2s", timeout: "1s", retries: 3, start_period: "5s" },
        volumes: ["legacy:/legacy:ro"],
      },
      { volumes: { legacy: { external: true, name: "legacy_data" } } },
    );
    expect(containerOptions(service)).toEqual({
      config: {
        User: "1000:1000",
        WorkingDir: "/srv",
        StopSignal: "SIGQUIT",
        StopTimeout: 2,
        Healthcheck: { Test: ["CMD", "true"], Interval: 2e9, Timeout: 1e9, Retries: 3, StartPeriod: 5e9 },
      },
      hostConfig: {
        CapAdd: ["NET_ADMIN"],
        CapDrop: ["MKNOD"],
        ReadonlyRootfs: true,
        Tmpfs: { "/run": "", "/cache": `size=${64 * 1024 ** 2},mode=1770` },
        Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 4096 }],
        Mounts: [{ Type: "volume", Source: "legacy_data", Target: "/legacy", ReadOnly: true }],
      },
    });
  });

  it("sets nothing for a spec without them", () => {
    expect(containerOptions(web({}))).toEqual({ config: {}, hostConfig: {} });
  });
});
