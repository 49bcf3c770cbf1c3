import { describe, expect, it } from "vitest";
import { ManifestError } from "../../model/errors.ts";
import { MAX_MANIFEST_BYTES } from "../../model/manifest.ts";
import { formatPath, manifestError, MAX_REPORTED_ISSUES } from "../../model/manifest-errors.ts";
import { parseManifestText } from "../../runtime/manifest-file.ts";
import { thrownBy } from "../fixtures/errors.ts";

const options = { fileName: "app.yaml", baseDir: "/srv/app" };

/** A Ployz manifest as YAML text: one service `web` with extra fields. */
function manifest(web: string, extra = ""): string {
  return `namespace: demo\nservices:\n  web:\n    image: busybox:1.36\n${web
    .split("\n")
    .filter(Boolean)
    .map((line) => `    ${line}`)
    .join("\n")}\n${extra}`;
}

function parse(text: string, fileName = "app.yaml") {
  return parseManifestText(text, { ...options, fileName });
}

const errorOf = (run: () => unknown) => thrownBy(ManifestError, run);

function lines(error: ManifestError): string[] {
  return error.message.split("\n");
}

describe("formatPath", () => {
  it.each([
    [[], ""],
    [["services", "web", "replicas"], "services.web.replicas"],
    [["services", "web", "ports", 0, "container"], "services.web.ports[0].container"],
    [["services", "../etc"], 'services["../etc"]'],
    [["services", "a.b", "image"], 'services["a.b"].image'],
    [["services", "my-web", "env", "A_B"], "services.my-web.env.A_B"],
    [["labels", "com.example/x"], 'labels["com.example/x"]'],
  ])("%j → %s", (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe("a valid Ployz manifest", () => {
  it("parses YAML and normalizes it", () => {
    const { spec, format } = parse(
      manifest(`command: httpd -f -p 8080\nreplicas: 2\nresources: { memory: 16Mi, cpu: "0.5" }\nreadiness: { type: http, port: 8080, interval: 2s }`),
    );
    expect(format).toBe("ployz");
    const web = spec.services.web!;
    expect(web.command).toEqual(["httpd", "-f", "-p", "8080"]);
    expect(web.replicas).toBe(2);
    expect(web.resources).toEqual({ memory: 16 * 1024 * 1024, cpu: 0.5 });
    expect(web.readiness).toEqual({ type: "http", port: 8080, path: "/", interval: 2000, timeout: 1000, retries: 3, startPeriod: 0 });
    expect(web.restart).toBe("unless-stopped");
  });

  it("parses JSON", () => {
    const json = JSON.stringify({ namespace: "demo", services: { web: { image: "busybox", ports: [{ container: 80, published: 8080 }] } } });
    const { spec } = parse(json, "app.json");
    expect(spec.services.web!.ports).toEqual([{ container: 80, published: 8080, protocol: "tcp" }]);
  });

  it("accepts anchors, aliases and merge keys", () => {
    const text = `namespace: demo\nx: &base { image: busybox, replicas: 3 }\nservices:\n  a: *base\n  b:\n    <<: *base\n    replicas: 1\n`;
    // x is not a manifest key: the alias source must live somewhere Ployz accepts.
    expect(errorOf(() => parse(text)).message).toBe('app.yaml: unknown key "x"');
    const ok = `namespace: demo\nservices:\n  a: &base { image: busybox, replicas: 3 }\n  b:\n    <<: *base\n    replicas: 1\n`;
    const { spec } = parse(ok);
    expect(spec.services.a!.replicas).toBe(3);
    expect(spec.services.b).toMatchObject({ image: "busybox", replicas: 1 });
  });

  it("reads a YAML 1.1 octal mode (0440) as octal, as Compose and every permission does", () => {
    const { spec } = parse(manifest(`configs:\n  - { target: /etc/a, content: x, mode: 0440 }\n  - { target: /etc/b, content: y, mode: 0o640 }`));
    expect(spec.services.web!.configs.map((c) => c.mode)).toEqual([0o440, 0o640]);
  });

  it("accepts -n when it names the manifest's namespace, and refuses another", () => {
    expect(parseManifestText(manifest(""), { ...options, namespace: "demo" }).spec.namespace).toBe("demo");
    const error = errorOf(() => parseManifestText(manifest(""), { ...options, namespace: "prod" }));
    expect(error.message).toBe('app.yaml: namespace: is "demo", but -n says "prod"');
    expect(error.path).toBe("namespace");
  });
});

describe("Ployz manifest errors name the file and the dotted path", () => {
  it("too many replicas", () => {
    const error = errorOf(() => parse(manifest("replicas: 200")));
    expect(error.message).toBe("app.yaml: services.web.replicas: at most 100 replicas");
    expect(error.path).toBe("services.web.replicas");
    expect(error.code).toBe("manifest-invalid");
  });

  it("negative replicas", () => {
    expect(errorOf(() => parse(manifest("replicas: -1"))).message).toBe("app.yaml: services.web.replicas: must be at least 0");
  });

  it("every unknown key, each by name", () => {
    const error = errorOf(() => parse(manifest("privilege: true\nhostNetwork: true")));
    expect(lines(error)).toEqual(['app.yaml: services.web: unknown key "privilege"', 'app.yaml: services.web: unknown key "hostNetwork"']);
    expect(error.path).toBe("services.web");
  });

  it("unknown top-level keys", () => {
    expect(errorOf(() => parse(`${manifest("")}version: 3\n`)).message).toBe('app.yaml: unknown key "version"');
  });

  it("a port of 70000", () => {
    const error = errorOf(() => parse(manifest("ports: [{ container: 70000 }]")));
    expect(error.message).toBe("app.yaml: services.web.ports[0].container: must be a port 1–65535");
    expect(error.path).toBe("services.web.ports[0].container");
  });

  it.each([
    ["command: 5", "services.web.command: expected a string or a list, got 5"],
    ["replicas: two", 'services.web.replicas: expected a number, got "two"'],
    ["env: [A=1]", "services.web.env: expected a mapping, got a list"],
    ["ports: { container: 80 }", "services.web.ports: expected a list, got a mapping"],
    ["stateful: yes", 'services.web.stateful: expected a boolean, got "yes"'],
    ["readiness: { type: grpc, port: 80 }", 'services.web.readiness.type: must be one of "http", "tcp", "exec", not "grpc"'],
    ["readiness: { port: 80 }", 'services.web.readiness.type: is required: one of "http", "tcp", "exec"'],
    ["readiness: { type: tcp, port: 80, interval: soon }", 'services.web.readiness.interval: "soon" is not a duration like 500ms, 2s, 1m30s'],
    ["resources: { memory: lots }", 'services.web.resources.memory: "lots" is not a memory size like 128Mi, 512m, 1g'],
    ["restart: sometimes", 'services.web.restart: must be one of "no", "always", "on-failure", "unless-stopped", not "sometimes"'],
    ["env: { 1A: x }", "services.web.env.1A: must be an environment variable name"],
    ["labels: { ployz.x: y }", 'services.web.labels["ployz.x"]: the ployz. prefix is reserved'],
    ["volumes: [{ type: bind, source: /srv/../etc, target: /data }]", "services.web.volumes[0].source: must not contain .."],
    ["volumes: [{ type: bind, source: data, target: /data }]", "services.web.volumes[0].source: must be an absolute path"],
    ["routes: [{ hostnames: [Demo.Test], port: 80 }]", "services.web.routes[0].hostnames[0]: must be a lowercase DNS hostname"],
    ["command: []", "services.web.command: must not be empty"],
  ])("%s", (field, message) => {
    expect(errorOf(() => parse(manifest(field))).message).toBe(`app.yaml: ${message}`);
  });

  it("a missing image", () => {
    const error = errorOf(() => parse("namespace: demo\nservices:\n  web: { replicas: 1 }\n"));
    expect(error.message).toBe("app.yaml: services.web.image: is required");
  });

  it.each(["../etc", "a.b", "a/b", "..", "Web", "web_1", "-web"])("service name %j", (name) => {
    const error = errorOf(() => parse(`namespace: demo\nservices:\n  ${JSON.stringify(name)}: { image: busybox }\n`));
    expect(error.message).toBe(`app.yaml: ${formatPath(["services", name])}: service name must be 1–63 lowercase letters, digits or inner dashes`);
    expect(error.path).toBe(formatPath(["services", name]));
  });

  it("shows a traversal name quoted", () => {
    expect(errorOf(() => parse(`namespace: demo\nservices:\n  "../etc": { image: busybox }\n`)).message).toMatch(/^app\.yaml: services\["\.\.\/etc"\]: service name must be/);
  });

  it("namespace and volume names", () => {
    expect(errorOf(() => parse(manifest("").replace("namespace: demo", "namespace: Demo"))).message).toBe(
      "app.yaml: namespace: namespace must be 1–63 lowercase letters, digits or inner dashes",
    );
    expect(errorOf(() => parse(manifest("", "volumes:\n  a.b: {}\n"))).message).toBe(
      'app.yaml: volumes["a.b"]: volume name must be 1–63 lowercase letters, digits or inner dashes',
    );
  });

  it("cross-references: undeclared volumes, unknown dependencies, cycles", () => {
    expect(errorOf(() => parse(manifest("volumes: [{ type: volume, source: data, target: /data }]"))).message).toBe(
      'app.yaml: services.web.volumes[0].source: volume "data" is not declared under top-level volumes',
    );
    expect(errorOf(() => parse(manifest("dependsOn: [db]"))).message).toBe('app.yaml: services.web.dependsOn: depends on unknown service "db"');
    const cycle = "namespace: demo\nservices:\n  a: { image: busybox, dependsOn: [b] }\n  b: { image: busybox, dependsOn: [a] }\n";
    expect(errorOf(() => parse(cycle)).message).toBe("app.yaml: services: dependsOn has a cycle: a → b → a");
  });

  it("reports every issue, the first in the first line and in .path", () => {
    const error = errorOf(() => parse(manifest("replicas: 200\nports: [{ container: 0 }]\nprivileged: true")));
    expect(lines(error)).toEqual([
      "app.yaml: services.web.ports[0].container: must be a port 1–65535",
      "app.yaml: services.web.replicas: at most 100 replicas",
      'app.yaml: services.web: unknown key "privileged"',
    ]);
    expect(error.path).toBe("services.web.ports[0].container");
  });

  it(`lists at most ${MAX_REPORTED_ISSUES} issues and counts the rest`, () => {
    const services = Array.from({ length: 13 }, (_, i) => `  s${i}: { image: busybox, replicas: 101 }`).join("\n");
    const error = errorOf(() => parse(`namespace: demo\nservices:\n${services}\n`));
    expect(lines(error)).toHaveLength(MAX_REPORTED_ISSUES + 1);
    expect(lines(error).at(-1)).toBe("… and 3 more problems");
    const one = manifestError("x.yaml", Array.from({ length: 11 }, () => ({ path: ["a"], message: "bad" })));
    expect(lines(one).at(-1)).toBe("… and 1 more problem");
  });
});

describe("routes that could break a gateway or take another's traffic are refused at their path", () => {
  it.each([
    ["a hostname listed twice", "routes:\n  - hostnames: [a.example.com, a.example.com]\n    port: 80", /services\.web\.routes\[0\]\.hostnames\[1\]: hostname a\.example\.com is listed twice/],
    ["a repeated wildcard", "routes:\n  - hostnames: ['*.example.com', '*.example.com']\n    port: 80", /routes\[0\]\.hostnames\[1\]: hostname \*\.example\.com is listed twice/],
    ["a glob path prefix", "routes:\n  - hostnames: [shop.example.com]\n    pathPrefix: /*\n    port: 80", /routes\[0\]\.pathPrefix: must start with \/ and hold only literal path characters/],
    ["a placeholder", "routes:\n  - hostnames: [shop.example.com]\n    pathPrefix: /{x}\n    port: 80", /routes\[0\]\.pathPrefix/],
    ["a .. segment", "routes:\n  - hostnames: [shop.example.com]\n    pathPrefix: /a/../b\n    port: 80", /routes\[0\]\.pathPrefix: must not have empty, \. or \.\. segments/],
    [
      "the same host and prefix twice in one namespace",
      "routes:\n  - hostnames: [shop.example.com]\n    pathPrefix: /api\n    port: 80\n  - hostnames: [shop.example.com]\n    pathPrefix: /api/\n    port: 81",
      /routes\[1\]\.hostnames\[0\]: shop\.example\.com\/api is already served by services\.web\.routes\.0/,
    ],
  ])("%s", (_, web, message) => {
    expect(errorOf(() => parse(manifest(web))).message).toMatch(message);
  });
});

describe("manifest text that is not a mapping, or not YAML", () => {
  it.each([
    ["", "app.yaml: is empty"],
    ["# only a comment\n", "app.yaml: is empty"],
    ["- namespace: demo\n", "app.yaml: must be a mapping (namespace:, services:, …) at the top, not a list"],
    ["hello", 'app.yaml: must be a mapping (namespace:, services:, …) at the top, not "hello"'],
    ["42", "app.yaml: must be a mapping (namespace:, services:, …) at the top, not 42"],
  ])("%j", (text, message) => {
    expect(errorOf(() => parse(text)).message).toBe(message);
  });

  it("a YAML syntax error gives line and column", () => {
    const error = errorOf(() => parse("namespace: demo\nservices:\n  web: { image: busybox\n  db: {}\n"));
    expect(error.message).toMatch(/^app\.yaml: line \d+, column \d+: /);
    expect(error.path).toBe("");
  });

  it("an indentation error names line 3", () => {
    expect(errorOf(() => parse("namespace: demo\nservices:\n web: {}\n  db: {}\n")).message).toMatch(/^app\.yaml: line 4, column \d+:/);
  });

  it("a duplicate key is an error, not a silent override", () => {
    expect(errorOf(() => parse("namespace: demo\nnamespace: prod\nservices: {}\n")).message).toBe("app.yaml: line 2, column 1: Map keys must be unique");
  });

  it("more than one YAML document", () => {
    expect(errorOf(() => parse("namespace: a\n---\nnamespace: b\n")).message).toContain("multiple documents");
  });

  it("a JSON syntax error gives line and column", () => {
    const error = errorOf(() => parse('{\n  "namespace": "demo",\n}', "app.json"));
    expect(error.message).toMatch(/^app\.json: line 3, column 1: not valid JSON/);
  });

  it("an alias bomb is refused", () => {
    let text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (let i = 0, prev = "a"; i < 8; prev = `l${i}`, i++) text += `l${i}: &l${i} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    expect(errorOf(() => parse(text)).message).toMatch(/^app\.yaml: its YAML aliases expand too far/);
  });

  it("text over the size limit is refused before parsing", () => {
    const text = `# ${"x".repeat(MAX_MANIFEST_BYTES)}\n{{{`;
    expect(errorOf(() => parse(text)).message).toBe(`app.yaml: is 1 MiB (${MAX_MANIFEST_BYTES + 6} bytes), over the 1 MiB (${MAX_MANIFEST_BYTES} bytes) limit for a manifest`);
  });
});
