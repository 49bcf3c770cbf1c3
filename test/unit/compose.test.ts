import { describe, expect, it } from "vitest";
import { composeToSpec, isComposeDocument, parseComposeBytes, splitShellWords, type ComposeOptions } from "../../model/compose.ts";
import { ManifestError, NotFoundError } from "../../model/errors.ts";
import { parseManifestText } from "../../runtime/manifest-file.ts";
import { thrownBy } from "../fixtures/errors.ts";

const BASE = "/srv/app";
const files: Record<string, string> = { "/srv/app/index.html": "<p>hi</p>\n", "/srv/app/conf/nginx.conf": "events {}\n" };
const options: ComposeOptions = {
  fileName: "compose.yaml",
  baseDir: BASE,
  readFile: (path) => {
    const content = files[path];
    if (content === undefined) throw new NotFoundError("no such file");
    return content;
  },
};

type Doc = Record<string, unknown>;

/** A Compose document with one service `web` (image busybox) plus `web` fields and top-level fields. */
function compose(web: Doc = {}, top: Doc = {}): Doc {
  return { name: "app", services: { web: { image: "busybox", ...web } }, ...top };
}

function convert(doc: unknown, extra: Partial<ComposeOptions> = {}) {
  return composeToSpec(doc, { ...options, ...extra }).spec;
}

function web(fields: Doc = {}, top: Doc = {}) {
  return convert(compose(fields, top)).services.web!;
}

const errorOf = (run: () => unknown) => thrownBy(ManifestError, run);

/** The message lines of converting `doc`, without the file name. */
function problems(doc: unknown, extra: Partial<ComposeOptions> = {}): string[] {
  return errorOf(() => convert(doc, extra))
    .message.split("\n")
    .map((line) => line.replace(/^compose\.yaml: /, ""));
}

describe("detecting a Compose file", () => {
  it.each([
    [{ services: {} }, "app.yaml", true],
    [{ namespace: "x", services: {} }, "app.yaml", false],
    [{ namespace: "x", services: {} }, "compose.yaml", true],
    [{}, "docker-compose.yml", true],
    [{}, "deploy/compose.yml", true],
    [{ namespace: "x" }, "ployz.yaml", false],
    [[], "app.yaml", false],
  ])("%j in %s → %s", (doc, fileName, expected) => {
    expect(isComposeDocument(doc, fileName)).toBe(expected);
  });

  it("parseManifestText converts a file detected as Compose", () => {
    const { spec, format } = parseManifestText("services:\n  web:\n    image: busybox\n", { fileName: "app.yaml", baseDir: BASE, namespace: "demo" });
    expect(format).toBe("compose");
    expect(spec.namespace).toBe("demo");
  });
});

describe("the namespace", () => {
  it("comes from -n first, then the top-level name", () => {
    expect(convert(compose()).namespace).toBe("app");
    expect(convert(compose(), { namespace: "prod" }).namespace).toBe("prod");
  });

  it("is asked for with -n when there is none", () => {
    expect(problems({ services: { web: { image: "busybox" } } })).toEqual(["has no name: pass -n NAMESPACE, or set a top-level name:"]);
  });

  it("must be a Ployz name, wherever it came from", () => {
    expect(problems(compose({}, { name: "My_App" }))).toEqual(["name: namespace must be 1–63 lowercase letters, digits or inner dashes"]);
    expect(problems(compose(), { namespace: "a.b" })).toEqual(["-n: namespace must be 1–63 lowercase letters, digits or inner dashes"]);
  });
});

describe("a minimal Compose service", () => {
  it("maps onto a Ployz service with Ployz defaults", () => {
    const spec = convert(compose());
    expect(spec).toEqual({
      namespace: "app",
      volumes: {},
      services: {
        web: {
          image: "busybox",
          env: {},
          ports: [],
          mode: "replicated",
          replicas: 1,
          resources: {},
          stateful: false,
          placement: {},
          restart: "unless-stopped",
          routes: [],
          volumes: [],
          configs: [],
          labels: {},
          dependsOn: [],
        },
      },
    });
  });

  it("ignores version (obsolete in the spec) and x- extensions at every level", () => {
    const doc = { version: "3.8", "x-common": { anything: [1, 2] }, ...compose({ "x-note": "kept out", deploy: { replicas: 2, "x-tier": 1 } }) };
    expect(convert(doc).services.web!.replicas).toBe(2);
  });
});

describe("command and entrypoint", () => {
  it.each([
    ["httpd -f -p 8080", ["httpd", "-f", "-p", "8080"]],
    ["  sleep   10 ", ["sleep", "10"]],
    [`sh -c 'echo "a b" > /tmp/x'`, ["sh", "-c", 'echo "a b" > /tmp/x']],
    [`echo "say \\"hi\\"" it\\'s`, ["echo", 'say "hi"', "it's"]],
    [`printf "%s\\n" ''`, ["printf", "%s\\n", ""]],
    [`a\\ b c`, ["a b", "c"]],
    [`echo "\\$HOME"`, ["echo", "$HOME"]],
    [`a"b"'c'd`, ["abcd"]],
    ["a \\\n b", ["a", "b"]],
    [`"x\\\ny" "\\\\"`, ["xy", "\\"]],
    [`"it's" 'say "hi"'`, ["it's", 'say "hi"']],
  ])("splits %j like a shell", (text, words) => {
    expect(splitShellWords(text)).toEqual(words);
  });

  it.each([
    [`echo 'oops`, "has an unclosed '"],
    [`echo "oops`, 'has an unclosed "'],
    [`echo \\`, "ends with a lone backslash"],
    ["make && make install", 'uses the shell operator "&"'],
    ["cat x | grep y", 'uses the shell operator "|"'],
    ["echo hi > out", 'uses the shell operator ">"'],
    ["a; b", 'uses the shell operator ";"'],
  ])("refuses %j", (text, reason) => {
    expect(() => splitShellWords(text)).toThrow(reason);
  });

  it("shell-splits the string form and keeps the list form", () => {
    const service = web({ command: `sh -c "echo hi; sleep 1"`, entrypoint: ["/bin/tini", "--"] });
    expect(service.command).toEqual(["sh", "-c", "echo hi; sleep 1"]);
    expect(service.entrypoint).toEqual(["/bin/tini", "--"]);
    expect(web({ command: ["sleep", 3600] }).command).toEqual(["sleep", "3600"]);
  });

  it("reports a command that cannot be split at its path", () => {
    expect(problems(compose({ command: "make && make install" }))).toEqual([
      'services.web.command: "make && make install" uses the shell operator "&", but no shell runs it: write ["/bin/sh", "-c", "…"]',
    ]);
    expect(problems(compose({ entrypoint: "echo 'x" }))).toEqual([`services.web.entrypoint: "echo 'x" has an unclosed '`]);
  });

  it("refuses wrong types", () => {
    expect(problems(compose({ command: 5 }))).toEqual(["services.web.command: expected a string or a list, got 5"]);
    expect(problems(compose({ command: ["a", { b: 1 }] }))).toEqual(["services.web.command[1]: expected a string, got a mapping"]);
    expect(problems(compose({ entrypoint: [] }))).toEqual(["services.web.entrypoint: must not be empty"]);
  });
});

describe("environment", () => {
  it("takes a mapping, writing numbers and booleans as text", () => {
    expect(web({ environment: { A: "1", B: 2, C: true, D: "" } }).env).toEqual({ A: "1", B: "2", C: "true", D: "" });
  });

  it("takes a list of KEY=VALUE, splitting at the first =", () => {
    expect(web({ environment: ["A=1", "B=x=y", "C="] }).env).toEqual({ A: "1", B: "x=y", C: "" });
  });

  it("refuses a variable without a value rather than reading the operator's shell", () => {
    expect(problems(compose({ environment: ["TOKEN"] }))).toEqual([
      "services.web.environment[0]: TOKEN has no value: write TOKEN: ${TOKEN} to take it from your environment or .env",
    ]);
    expect(problems(compose({ environment: { TOKEN: null } }))[0]).toMatch(/^services\.web\.environment\.TOKEN: TOKEN has no value/);
  });

  it("refuses duplicates, bad names and wrong types at their paths", () => {
    expect(problems(compose({ environment: ["A=1", "A=2"] }))).toEqual(["services.web.environment[1]: sets A twice"]);
    expect(problems(compose({ environment: { "1A": "x" } }))).toEqual(["services.web.environment.1A: must be an environment variable name"]);
    expect(problems(compose({ environment: ["A-B=x"] }))).toEqual(["services.web.environment[0]: must be an environment variable name"]);
    expect(problems(compose({ environment: "A=1" }))).toEqual(['services.web.environment: expected a mapping or a list of KEY=VALUE, got "A=1"']);
    expect(problems(compose({ environment: { A: [1] } }))).toEqual(["services.web.environment.A: expected a string, got a list"]);
  });
});

describe("ports", () => {
  it.each([
    ["8080:80", { container: 80, published: 8080, protocol: "tcp" }],
    ["80", { container: 80, protocol: "tcp" }],
    [80, { container: 80, protocol: "tcp" }],
    ["127.0.0.1:8080:80/udp", { container: 80, published: 8080, protocol: "udp" }],
    ["127.0.0.1::80", { container: 80, protocol: "tcp" }],
    ["[127.0.0.1]:53:53/udp", { container: 53, published: 53, protocol: "udp" }],
    ["9000:9000/tcp", { container: 9000, published: 9000, protocol: "tcp" }],
  ])("short syntax %j", (port, expected) => {
    expect(web({ ports: [port] }).ports).toEqual([expected]);
  });

  it("long syntax", () => {
    expect(web({ ports: [{ target: 80, published: "8080", protocol: "udp", host_ip: "127.0.0.1" }, { target: 443 }] }).ports).toEqual([
      { container: 80, published: 8080, protocol: "udp" },
      { container: 443, protocol: "tcp" },
    ]);
  });

  it("expose adds container ports not already listed", () => {
    expect(web({ ports: ["8080:80"], expose: ["80", 9090, "53/udp"] }).ports).toEqual([
      { container: 80, published: 8080, protocol: "tcp" },
      { container: 9090, protocol: "tcp" },
      { container: 53, protocol: "udp" },
    ]);
  });

  it.each([
    ["0.0.0.0:8080:80", 'services.web.ports[0]: "0.0.0.0:8080:80": host IP 0.0.0.0: Ployz publishes ports on 127.0.0.1 only'],
    ["10.0.0.5:8080:80", 'services.web.ports[0]: "10.0.0.5:8080:80": host IP 10.0.0.5: Ployz publishes ports on 127.0.0.1 only'],
    ["8000-8010:80", 'services.web.ports[0]: "8000-8010:80": port ranges are not supported'],
    ["8080:8000-8010", 'services.web.ports[0]: "8080:8000-8010": port ranges are not supported'],
    ["70000:80", 'services.web.ports[0]: "70000:80": 70000 is not a port 1–65535'],
    ["8080:0", 'services.web.ports[0]: "8080:0": 0 is not a port 1–65535'],
    ["80/sctp", 'services.web.ports[0]: "80/sctp": protocol "sctp" is not supported (tcp or udp)'],
    ["http", 'services.web.ports[0]: "http": "http" is not a port number'],
    ["::1:80:80", 'services.web.ports[0]: "::1:80:80": expected [HOST_IP:][PUBLISHED:]CONTAINER[/PROTOCOL]'],
  ])("refuses short %j", (port, message) => {
    expect(problems(compose({ ports: [port] }))).toEqual([message]);
  });

  it("refuses bad long forms at their paths", () => {
    expect(problems(compose({ ports: [{ target: 70000 }] }))).toEqual(["services.web.ports[0].target: must be a port 1–65535"]);
    expect(problems(compose({ ports: [{ target: 80, published: "8000-8001" }] }))).toEqual(['services.web.ports[0].published: "8000-8001": port ranges are not supported']);
    expect(problems(compose({ ports: [{ target: 80, host_ip: "0.0.0.0" }] }))).toEqual(['services.web.ports[0].host_ip: "0.0.0.0": Ployz publishes ports on 127.0.0.1 only']);
    expect(problems(compose({ ports: [{ target: 80, mode: "host" }] }))).toEqual(['services.web.ports[0].mode: Ployz does not support "mode"']);
    expect(problems(compose({ ports: [{ published: 80 }] }))).toEqual(["services.web.ports[0].target: is required"]);
    expect(problems(compose({ ports: [{ target: 80, protocol: "sctp" }] }))).toEqual(['services.web.ports[0].protocol: must be one of "tcp", "udp", not "sctp"']);
    expect(problems(compose({ ports: "80" }))).toEqual(['services.web.ports: expected a list, got "80"']);
    expect(problems(compose({ ports: [null] }))).toEqual(["services.web.ports[0]: expected a port, got null"]);
    expect(problems(compose({ expose: ["8080:80"] }))).toEqual(['services.web.expose[0]: "8080:80": expose takes a container port only']);
  });
});

describe("volumes", () => {
  const top = { volumes: { data: null, shared: { external: true } } };

  it("short syntax: named, relative bind, absolute bind, read-only", () => {
    const service = web({ volumes: ["data:/var/lib/data", "./site:/www:ro", "/etc/ssl/certs:/certs:ro", "../logs:/logs:rw", "shared:/shared"] }, top);
    expect(service.volumes).toEqual([
      { type: "volume", source: "data", target: "/var/lib/data", readOnly: false },
      { type: "bind", source: "/srv/app/site", target: "/www", readOnly: true },
      { type: "bind", source: "/etc/ssl/certs", target: "/certs", readOnly: true },
      { type: "bind", source: "/srv/logs", target: "/logs", readOnly: false },
      { type: "volume", source: "shared", target: "/shared", readOnly: false, external: "shared" },
    ]);
  });

  it("long syntax", () => {
    const service = web(
      { volumes: [{ type: "volume", source: "data", target: "/data", read_only: true }, { type: "bind", source: "site", target: "/www" }] },
      top,
    );
    expect(service.volumes).toEqual([
      { type: "volume", source: "data", target: "/data", readOnly: true },
      { type: "bind", source: "/srv/app/site", target: "/www", readOnly: false },
    ]);
  });

  it("top-level volumes: empty, {} or external", () => {
    expect(convert(compose({}, { volumes: { a: null, b: {}, c: { external: true }, d: { external: false } } })).volumes).toEqual({
      a: { external: false },
      b: { external: false },
      c: { external: true },
      d: { external: false },
    });
  });

  it("a named volume must be declared at the top level", () => {
    expect(problems(compose({ volumes: ["data:/data"] }))).toEqual(['services.web.volumes[0]: volume "data" is not declared under top-level volumes']);
    expect(problems(compose({ volumes: [{ type: "volume", source: "data", target: "/data" }] }))).toEqual([
      'services.web.volumes[0].source: volume "data" is not declared under top-level volumes',
    ]);
  });

  it.each([
    ["/data", 'services.web.volumes[0]: "/data": anonymous volumes are not supported; write NAME:/data and declare NAME under top-level volumes:'],
    ["data:/data:z", 'services.web.volumes[0]: "data:/data:z": expected SOURCE:TARGET[:ro|rw]; option "z" is not supported'],
    ["data:/data:ro:x", 'services.web.volumes[0]: "data:/data:ro:x": expected SOURCE:TARGET[:ro|rw]'],
    ["~/data:/data", 'services.web.volumes[0]: "~/data": write the path without ~ (the container may run on another machine, with another home)'],
    ["data:relative", "services.web.volumes[0]: must be an absolute path"],
    ["Data:/data", "services.web.volumes[0]: volume name must be 1–63 lowercase letters, digits or inner dashes"],
  ])("refuses short %j", (volume, message) => {
    expect(problems(compose({ volumes: [volume] }, top))).toContain(message);
  });

  it("refuses long forms Ployz cannot honour", () => {
    expect(problems(compose({ volumes: [{ type: "npipe", source: "x", target: "/tmp" }] }))).toEqual(['services.web.volumes[0].type: must be "volume", "bind" or "tmpfs", not "npipe"']);
    expect(problems(compose({ volumes: [{ type: "volume", target: "/tmp" }] }))).toEqual(["services.web.volumes[0].source: is required: Ployz has no anonymous volumes"]);
    expect(problems(compose({ volumes: [{ type: "bind", source: "/x", target: "/x", bind: { propagation: "shared" } }] }))).toEqual([
      'services.web.volumes[0].bind: Ployz does not support "bind"',
    ]);
    expect(problems(compose({ volumes: [{ type: "volume", source: "data", target: "/d", read_only: "yes" }] }, top))).toEqual([
      'services.web.volumes[0].read_only: expected a boolean, got "yes"',
    ]);
  });

  it("refuses top-level volume options Ployz cannot honour", () => {
    expect(problems(compose({}, { volumes: { data: { driver: "nfs" } } }))).toEqual(['volumes.data.driver: "nfs": only the local driver (the default); Ployz manages where volumes live']);
    expect(problems(compose({}, { volumes: { data: { driver: "local", driver_opts: { type: "nfs" } } } }))).toEqual([
      'volumes.data.driver_opts: Ployz does not support "driver_opts" — Ployz manages where volumes live',
    ]);
    expect(problems(compose({}, { volumes: { data: { labels: { a: "b" } } } }))).toEqual(['volumes.data.labels: Ployz does not support "labels" — Ployz creates the volume itself and does not label it']);
    expect(problems(compose({}, { volumes: { data: { external: "yes" } } }))).toEqual(['volumes.data.external: expected true or false, got "yes"']);
    expect(problems(compose({}, { volumes: { "../etc": {} } }))).toEqual(['volumes["../etc"]: volume name must be 1–63 lowercase letters, digits or inner dashes']);
    expect(problems(compose({}, { volumes: ["data"] }))).toEqual(["volumes: expected a mapping of volumes, got a list"]);
  });
});

describe("configs", () => {
  const top = { configs: { index: { file: "./index.html" }, nginx: { file: "conf/nginx.conf" }, motd: { content: "hello\n" } } };

  it("short syntax mounts at /<name>; long syntax takes target and mode", () => {
    const service = web({ configs: ["motd", { source: "index", target: "/www/index.html", mode: 0o440 }, { source: "nginx", target: "/etc/nginx.conf", mode: "0400" }] }, top);
    expect(service.configs).toEqual([
      { target: "/motd", content: "hello\n", mode: 0o444 },
      { target: "/www/index.html", content: "<p>hi</p>\n", mode: 0o440 },
      { target: "/etc/nginx.conf", content: "events {}\n", mode: 0o400 },
    ]);
  });

  it("reads a YAML 0440 mode as octal", () => {
    const text = "name: app\nservices:\n  web:\n    image: busybox\n    configs: [{ source: motd, target: /etc/motd, mode: 0440 }]\nconfigs:\n  motd: { content: hi }\n";
    expect(parseManifestText(text, options).spec.services.web!.configs[0]!.mode).toBe(0o440);
  });

  it.each(["../../etc/shadow", "/etc/shadow", "conf/../../etc/shadow", "..", "/srv/application/x"])("refuses a config file escaping the directory: %j", (file) => {
    expect(problems(compose({}, { configs: { secret: { file } } }))).toEqual([
      `configs.secret.file: ${JSON.stringify(file)} is outside the directory of compose.yaml; files it refers to must be beside it`,
    ]);
  });

  it("reports a file that cannot be read, and one read nowhere", () => {
    expect(problems(compose({}, { configs: { gone: { file: "gone.txt" } } }))).toEqual(['configs.gone.file: cannot read "gone.txt": no such file']);
    expect(problems(compose({}, { configs: { index: { file: "index.html" } } }), { readFile: undefined })[0]).toMatch(/^configs\.index\.file: cannot read "index.html" here/);
  });

  it("refuses malformed configs at their paths", () => {
    expect(problems(compose({ configs: ["missing"] }, top))).toEqual(['services.web.configs[0]: config "missing" is not declared under top-level configs:']);
    expect(problems(compose({ configs: [{ source: "motd", uid: "root" }] }, top))).toEqual(['services.web.configs[0].uid: "root" is not a numeric id: write the number (e.g. "1000")']);
    expect(problems(compose({ configs: [{ source: "motd", mode: "rw" }] }, top))).toEqual(['services.web.configs[0].mode: "rw" is not an octal file mode like "0440"']);
    expect(problems(compose({ configs: [{ target: "/x" }] }, top))).toEqual(["services.web.configs[0].source: is required"]);
    expect(problems(compose({ configs: [{ source: "motd", target: "etc/motd" }] }, top))).toEqual(["services.web.configs[0].target: must be an absolute path"]);
    expect(problems(compose({ configs: [{ source: "motd", mode: 0o1777 }] }, top))).toEqual(["services.web.configs[0].mode: must be at most 511"]);
    expect(problems(compose({}, { configs: { both: { file: "a", content: "b" } } }))).toEqual(["configs.both: needs exactly one of file:, content: or environment:"]);
    expect(problems(compose({}, { configs: { ext: { external: true } } }))).toEqual([
      'configs.ext.external: Ployz does not support "external" — Ployz has no config store: write file: or content:',
      "configs.ext: needs exactly one of file:, content: or environment:",
    ]);
    expect(problems(compose({}, { configs: { n: { content: 5 } } }))).toEqual(["configs.n.content: expected a string, got 5"]);
    const big = { configs: { big: { content: "x".repeat(256 * 1024 + 1) } } };
    expect(problems(compose({ configs: ["big"] }, big))).toEqual(["configs.big.content: config content is limited to 256 KiB"]);
  });
});

describe("deploy", () => {
  it("mode and replicas", () => {
    expect(web({ deploy: { mode: "global" } }).mode).toBe("global");
    expect(web({ deploy: { mode: "replicated", replicas: 3 } }).replicas).toBe(3);
    expect(web({ deploy: { replicas: 0 } }).replicas).toBe(0);
  });

  it("prefers reservations, falls back to limits, in Docker's 1024-based units", () => {
    expect(web({ deploy: { resources: { limits: { cpus: "2", memory: "1g" }, reservations: { cpus: 0.25, memory: "512m" } } } }).resources).toEqual({
      cpu: 0.25,
      memory: 512 * 1024 ** 2,
    });
    expect(web({ deploy: { resources: { limits: { cpus: "0.5", memory: "64M" } } } }).resources).toEqual({ cpu: 0.5, memory: 64 * 1024 ** 2 });
    expect(web({ deploy: { resources: { limits: { memory: "1.5GiB" }, reservations: { cpus: "1" } } } }).resources).toEqual({ cpu: 1, memory: 1.5 * 1024 ** 3 });
  });

  it.each([
    ["512m", 512 * 1024 ** 2],
    ["512M", 512 * 1024 ** 2],
    ["512mb", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["100k", 102_400],
    ["2048", 2048],
    ["2048b", 2048],
    [1_048_576, 1_048_576],
    ["lots", undefined],
    ["-1m", undefined],
    [0, undefined],
  ])("Compose bytes %j → %s", (text, bytes) => {
    expect(parseComposeBytes(text)).toBe(bytes);
  });

  it("refuses bad values at their Compose paths", () => {
    expect(problems(compose({ deploy: { replicas: -1 } }))).toEqual(["services.web.deploy.replicas: must be at least 0"]);
    expect(problems(compose({ deploy: { replicas: 101 } }))).toEqual(["services.web.deploy.replicas: at most 100 replicas"]);
    expect(problems(compose({ deploy: { replicas: "3" } }))).toEqual(['services.web.deploy.replicas: expected a number, got "3"']);
    expect(problems(compose({ deploy: { mode: "global-job" } }))).toEqual(['services.web.deploy.mode: must be one of "replicated", "global", not "global-job"']);
    expect(problems(compose({ deploy: { resources: { limits: { memory: "lots" } } } }))).toEqual([
      'services.web.deploy.resources.limits.memory: "lots" is not a size like 512m, 1g or 1073741824',
    ]);
    expect(problems(compose({ deploy: { resources: { reservations: { cpus: "-1" } } } }))).toEqual(["services.web.deploy.resources.reservations.cpus: must be a number of CPUs"]);
    expect(problems(compose({ deploy: { resources: { limits: { pids: 10 } } } }))).toEqual(['services.web.deploy.resources.limits.pids: Ployz does not support "pids"']);
  });

  it.each([
    ["labels", "Ployz has no service objects to label; put them under the service's labels:"],
    ["update_config", "Ployz starts every new replica beside the old ones and switches when all are ready"],
    ["rollback_config", "a failed deploy always removes what it started; roll back with ployzctl rollback"],
    ["endpoint_mode", "services are reached through the cluster DNS, which answers with every ready replica"],
  ])("refuses deploy.%s, saying why", (key, why) => {
    expect(problems(compose({ deploy: { [key]: {} } }))).toEqual([`services.web.deploy.${key}: Ployz does not support "${key}" — ${why}`]);
  });

  it("refuses restart_policy and says what to use", () => {
    expect(problems(compose({ deploy: { restart_policy: { condition: "any" } } }))).toEqual([
      'services.web.deploy.restart_policy: Ployz does not support "restart_policy" — use restart: on the service',
    ]);
  });
});

describe("healthcheck", () => {
  const timing = { interval: "5s", timeout: "2s", retries: 4, start_period: "1m" };

  it.each([
    [{ test: ["CMD", "wget", "-q", "http://localhost/"] }, ["wget", "-q", "http://localhost/"]],
    [{ test: ["CMD-SHELL", "curl -f localhost || exit 1"] }, ["/bin/sh", "-c", "curl -f localhost || exit 1"]],
    [{ test: "curl -f localhost || exit 1" }, ["/bin/sh", "-c", "curl -f localhost || exit 1"]],
  ])("test %j becomes an exec readiness probe", (check, command) => {
    expect(web({ healthcheck: { ...check, ...timing } }).readiness).toEqual({ type: "exec", command, interval: 5000, timeout: 2000, retries: 4, startPeriod: 60_000 });
  });

  it("uses Docker's defaults for what it leaves out", () => {
    expect(web({ healthcheck: { test: ["CMD", "true"] } }).readiness).toEqual({ type: "exec", command: ["true"], interval: 30_000, timeout: 30_000, retries: 3, startPeriod: 0 });
  });

  it("NONE and disable: true mean no probe", () => {
    expect(web({ healthcheck: { test: ["NONE"] } }).readiness).toBeUndefined();
    expect(web({ healthcheck: { disable: true, test: ["CMD", "x"] } }).readiness).toBeUndefined();
  });

  it.each([
    [{ test: ["RUN", "x"] }, 'services.web.healthcheck.test[0]: must be "CMD", "CMD-SHELL" or "NONE", not "RUN"'],
    [{ test: ["CMD"] }, 'services.web.healthcheck.test: "CMD" takes a command after it'],
    [{ test: ["CMD-SHELL", "a", "b"] }, 'services.web.healthcheck.test: "CMD-SHELL" takes exactly one shell command string'],
    [{ test: ["NONE", "x"] }, 'services.web.healthcheck.test: "NONE" takes nothing after it'],
    [{ test: [] }, 'services.web.healthcheck.test: expected a command string or a list starting with "CMD", "CMD-SHELL" or "NONE", got a list'],
    [{ test: 5 }, 'services.web.healthcheck.test: expected a command string or a list starting with "CMD", "CMD-SHELL" or "NONE", got 5'],
    [{ test: ["CMD", 1] }, "services.web.healthcheck.test[1]: expected a string, got 1"],
    [{ test: "" }, "services.web.healthcheck.test: must not be empty"],
    [{ interval: "5s" }, "services.web.healthcheck.test: is required: Ployz cannot adjust an image's own HEALTHCHECK; write the test here"],
    [{ test: "true", interval: "soon" }, 'services.web.healthcheck.interval: "soon" is not a duration like 500ms, 2s, 1m30s'],
    [{ test: "true", start_period: "forever" }, 'services.web.healthcheck.start_period: "forever" is not a duration like 500ms, 2s, 1m30s'],
    [{ test: "true", retries: 0 }, "services.web.healthcheck.retries: must be at least 1"],
    [{ test: "true", disable: "yes" }, 'services.web.healthcheck.disable: expected true or false, got "yes"'],
    [{ test: "true", start_interval: "1s" }, 'services.web.healthcheck.start_interval: Ployz does not support "start_interval" — use interval:'],
  ])("refuses %j", (check, message) => {
    expect(problems(compose({ healthcheck: check }))).toEqual([message]);
  });
});

describe("depends_on", () => {
  const two = (deps: unknown) => ({ name: "app", services: { web: { image: "busybox", depends_on: deps }, db: { image: "postgres:16" } } });

  it("takes a list, or a mapping with service_started or service_healthy", () => {
    expect(convert(two(["db"])).services.web!.dependsOn).toEqual(["db"]);
    expect(convert(two({ db: { condition: "service_healthy" } })).services.web!.dependsOn).toEqual(["db"]);
    expect(convert(two({ db: { condition: "service_started", required: true, restart: false } })).services.web!.dependsOn).toEqual(["db"]);
    expect(convert(two({ db: null })).services.web!.dependsOn).toEqual(["db"]);
  });

  it("refuses what Ployz cannot honour", () => {
    expect(problems(two({ db: { condition: "service_completed_successfully" } }))).toEqual([
      'services.web.depends_on.db.condition: Ployz does not support condition "service_completed_successfully"; use service_started or service_healthy',
    ]);
    expect(problems(two({ db: { required: false } }))).toEqual(["services.web.depends_on.db.required: Ployz has no optional dependencies; only required: true"]);
    expect(problems(two({ db: { restart: true } }))).toEqual(["services.web.depends_on.db.restart: Ployz does not restart a service when its dependency restarts; only restart: false"]);
  });

  it("refuses unknown services, bad names and cycles", () => {
    expect(problems(two(["cache"]))).toEqual(['services.web.depends_on: depends on unknown service "cache"']);
    expect(problems(two(["Db"]))).toEqual([
      "services.web.depends_on[0]: service name must be 1–63 lowercase letters, digits or inner dashes",
      'services.web.depends_on: depends on unknown service "Db"',
    ]);
    expect(problems(two({ "../db": {} }))).toEqual([
      'services.web.depends_on["../db"]: service name must be 1–63 lowercase letters, digits or inner dashes',
      'services.web.depends_on: depends on unknown service "../db"',
    ]);
    expect(problems(two([5]))).toEqual(["services.web.depends_on[0]: expected a service name, got 5"]);
    const cycle = { name: "app", services: { a: { image: "x", depends_on: ["b"] }, b: { image: "x", depends_on: ["a"] } } };
    expect(problems(cycle)).toEqual(["services: dependsOn has a cycle: a → b → a"]);
  });
});

describe("labels and restart", () => {
  it("labels as a mapping or a list", () => {
    expect(web({ labels: { "com.example.tier": "web", n: 1, empty: null } }).labels).toEqual({ "com.example.tier": "web", n: "1", empty: "" });
    expect(web({ labels: ["com.example.tier=web", "flag"] }).labels).toEqual({ "com.example.tier": "web", flag: "" });
  });

  it("refuses reserved and malformed labels at their paths", () => {
    expect(problems(compose({ labels: { "ployz.namespace": "x" } }))).toEqual(['services.web.labels["ployz.namespace"]: the ployz. prefix is reserved']);
    expect(problems(compose({ labels: ["ployz.slot=1"] }))).toEqual(["services.web.labels[0]: the ployz. prefix is reserved"]);
    expect(problems(compose({ labels: { "a b": "x" } }))).toEqual(['services.web.labels["a b"]: must be a label key']);
  });

  it.each(["no", "always", "on-failure", "unless-stopped"])("restart %s", (restart) => {
    expect(web({ restart }).restart).toBe(restart);
  });

  it("refuses other restart policies", () => {
    expect(problems(compose({ restart: "on-failure:3" }))).toEqual(['services.web.restart: Ployz does not support a retry limit ("on-failure:3"); use "on-failure"']);
    expect(problems(compose({ restart: "sometimes" }))).toEqual(['services.web.restart: must be one of "no", "always", "on-failure", "unless-stopped", not "sometimes"']);
  });
});

describe("keys Ployz cannot honour are refused with their path, never dropped", () => {
  it("privileged, exactly, with why", () => {
    const error = errorOf(() => convert(compose({ privileged: true })));
    expect(error.message).toBe('compose.yaml: services.web.privileged: Ployz does not support "privileged" — Ployz does not give containers access to the machine beyond their mounts');
    expect(error.path).toBe("services.web.privileged");
  });

  it("an attribute the Compose Specification does not have", () => {
    expect(problems(compose({ privilege: true }))).toEqual(['services.web.privilege: "privilege" is not an attribute of the Compose Specification']);
    expect(problems(compose({}, { service: {} }))).toEqual(['service: "service" is not an attribute of the Compose Specification']);
  });

  it.each(["include", "models"])("top-level %s", (key) => {
    expect(problems(compose({}, { [key]: {} }))).toEqual([expect.stringMatching(new RegExp(`^${key}: Ployz does not support "${key}" — `))]);
  });

  it("says what to write instead where there is an equivalent", () => {
    expect(problems(compose({ build: "." }))).toEqual([
      'services.web.build: Ployz does not support "build" — build the image and push it (docker build, then ployzctl image push), then name it in image:',
    ]);
    expect(problems(compose({ mem_limit: "1g" }))).toEqual(['services.web.mem_limit: Ployz does not support "mem_limit" — use deploy.resources.limits.memory']);
    expect(problems(compose({ extends: { service: "base" } }))[0]).toMatch(/share fields with a YAML anchor/);
  });

  it("reports all of them at once, and a hint when the file was recognized by content", () => {
    const error = errorOf(() => convert(compose({ privileged: true, pid: "host" }, { include: ["other.yaml"] }), { fileName: "stack.yaml" }));
    expect(error.message.split("\n")).toEqual([
      'stack.yaml: include: Ployz does not support "include" — Ployz deploys one file: merge the included files into it',
      'stack.yaml: services.web.privileged: Ployz does not support "privileged" — Ployz does not give containers access to the machine beyond their mounts',
      'stack.yaml: services.web.pid: Ployz does not support "pid" — containers get their own PID namespace',
    ]);
    expect(error.hint).toMatch(/add namespace: to write a Ployz manifest/);
    expect(errorOf(() => convert(compose({ privileged: true }))).hint).toBeUndefined();
  });
});

describe("malformed Compose documents", () => {
  it.each<[unknown, string]>([
    [[], "a Compose file must be a mapping with services:, not a list"],
    [{ name: "app", services: ["web"] }, "services: expected a mapping of services, got a list"],
    [{ name: "app", services: { web: "busybox" } }, 'services.web: expected a mapping, got "busybox"'],
    [{ name: "app", services: { web: null } }, "services.web: expected a mapping, got null"],
    [{ name: "app", services: {} }, "services: a namespace needs at least one service"],
    [{ name: "app", services: { web: { image: 5 } } }, "services.web.image: expected a string, got 5"],
    [{ name: "app", services: { web: { command: "x" } } }, "services.web.image: is required"],
    [{ name: "app", services: { web: { image: "bad image" } } }, "services.web.image: must be an image reference like busybox:1.36 or registry.example/app:v2"],
    [{ name: "app", services: { "../etc": { image: "x" } } }, 'services["../etc"]: service name must be 1–63 lowercase letters, digits or inner dashes'],
    [{ name: "app", services: { "web.1": { image: "x" } } }, 'services["web.1"]: service name must be 1–63 lowercase letters, digits or inner dashes'],
    [{ name: "app", services: { Web: { image: "x" } } }, "services.Web: service name must be 1–63 lowercase letters, digits or inner dashes"],
    [{ name: "app", services: { web: { image: "x" } }, configs: [] }, "configs: expected a mapping of configs, got a list"],
  ])("%j", (doc, message) => {
    expect(problems(doc)).toEqual([message]);
  });

  it("two mounts on one target", () => {
    expect(problems(compose({ volumes: ["./a:/data", "./b:/data"] }))).toEqual(["services.web: two mounts target /data"]);
  });
});

describe("variables", () => {
  it("$$ is a literal $", () => {
    expect(web({ command: ["sh", "-c", "echo $$HOME"], environment: { PRICE: "$$5" } })).toMatchObject({ command: ["sh", "-c", "echo $HOME"], env: { PRICE: "$5" } });
    expect(web({ command: "echo $$HOME" }).command).toEqual(["echo", "$HOME"]);
  });

  it("are substituted from the environment given, in values but not keys or x- extensions", () => {
    const environment = { TAG: "1.36", PORT: "8080", NAME: "shop" };
    const spec = convert({ name: "${NAME}", "x-note": "${UNSET}", services: { web: { image: "busybox:${TAG}", ports: ["${PORT}"], labels: { tag: "$TAG" } } } }, { environment });
    expect(spec.namespace).toBe("shop");
    expect(spec.services.web).toMatchObject({ image: "busybox:1.36", ports: [{ container: 8080 }], labels: { tag: "1.36" } });
    expect(problems(compose({ labels: { "${TAG}": "x" } }), { environment })).toEqual(['services.web.labels["${TAG}"]: must be a label key']);
  });

  it.each([
    ["busybox:${TAG}", 'services.web.image: variable TAG is not set: set it in your environment or in .env beside the Compose file, or write ${TAG:-default} (${TAG:-} for empty)'],
    ["busybox:$TAG", "services.web.image: variable TAG is not set: set it in your environment or in .env beside the Compose file, or write ${TAG:-default} (${TAG:-} for empty)"],
    ["busybox:${TAG:?set TAG to the release}", "services.web.image: required variable TAG is not set: set TAG to the release"],
    ["cost $5", 'services.web.image: "$5" is not a variable: write $$ for a literal $'],
    ["busybox:${TAG", 'services.web.image: "${" without a closing "}" in "busybox:${TAG"'],
  ])("refuses %j, naming the path", (image, message) => {
    expect(problems(compose({ image }))[0]).toBe(message);
  });

  it("reports a variable that is not set once, not again as a missing value", () => {
    expect(problems(compose({ environment: { GREETING: "${HELLO:?say hello}" } }))).toEqual(["services.web.environment.GREETING: required variable HELLO is not set: say hello"]);
  });
});
