import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManifestError, NotFoundError } from "../../model/errors.ts";
import { MAX_MANIFEST_BYTES } from "../../model/manifest.ts";
import { loadManifestFile, MAX_CONFIG_FILE_BYTES } from "../../runtime/manifest-file.ts";

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), "../../examples");

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ployz-manifest-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `content` at `name` inside the temp dir and returns its path. */
function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return await promise.then(
    () => {
      throw new Error("expected the load to fail");
    },
    (error: Error) => error,
  );
}

const composeWithConfig = (file: string) => `name: app\nservices:\n  web:\n    image: busybox\n    configs: [page]\nconfigs:\n  page:\n    file: ${file}\n`;

describe("the example files", () => {
  it("examples/demo.yaml is a Ployz manifest for namespace demo", async () => {
    const { spec, format, file } = await loadManifestFile(join(EXAMPLES, "demo.yaml"));
    expect(format).toBe("ployz");
    expect(file).toBe(join(EXAMPLES, "demo.yaml"));
    expect(spec.namespace).toBe("demo");
    expect(spec.services.web).toMatchObject({
      image: "ployz/busybox:local",
      command: ["/bin/sh", "-c", "mkdir -p /www && echo 'hello from ployz' > /www/index.html && exec httpd -f -p 8080 -h /www"],
      ports: [{ container: 8080, protocol: "tcp" }],
      replicas: 2,
      readiness: { type: "http", port: 8080, path: "/" },
      resources: { memory: 16 * 1024 * 1024 },
      routes: [{ hostnames: ["demo.ployz.test"], port: 8080, pathPrefix: "/", tls: "none" }],
    });
  });

  it("examples/compose-multi.yaml converts, with its config file read from beside it", async () => {
    const { spec, format } = await loadManifestFile(join(EXAMPLES, "compose-multi.yaml"));
    expect(format).toBe("compose");
    expect(spec.namespace).toBe("compose-multi");
    expect(Object.keys(spec.services).sort()).toEqual(["web", "worker"]);
    const web = spec.services.web!;
    expect(web.image).toBe("ployz/busybox:local");
    expect(web.replicas).toBe(2);
    expect(web.dependsOn).toEqual(["worker"]);
    expect(web.readiness?.type).toBe("exec");
    expect(web.configs.find((c) => c.target === "/www/index.html")?.content).toContain("hello from a Compose file");
    expect(web.configs.find((c) => c.target === "/etc/motd")).toMatchObject({ mode: 0o444 });
    expect(spec.services.worker!.volumes).toEqual([{ type: "volume", source: "ticks", target: "/data", readOnly: false }]);
    expect(spec.volumes).toEqual({ ticks: { external: false } });
  });
});

describe("loadManifestFile", () => {
  it("refuses a 10 MB file by its size, before parsing it", async () => {
    // Not YAML at all: a parse would fail with a syntax error instead.
    const path = write("big.yaml", `{{{ ${"x".repeat(10 * 1024 * 1024)}`);
    const error = await failure(loadManifestFile(path));
    expect(error).toBeInstanceOf(ManifestError);
    expect(error.message).toBe(`${path}: is 10 MiB (${10 * 1024 * 1024 + 4} bytes), over the 1 MiB (${MAX_MANIFEST_BYTES} bytes) limit for a manifest`);
  });

  it("reports a YAML syntax error with its line", async () => {
    const path = write("app.yaml", "namespace: demo\nservices:\n  web:\n    image: busybox\n   replicas: 2\n");
    const error = await failure(loadManifestFile(path));
    expect(error).toBeInstanceOf(ManifestError);
    expect(error.message).toMatch(new RegExp(`^${path}: line 5, column \\d+: `));
  });

  it("names the file as it was given, with the dotted path", async () => {
    write("app.yaml", "namespace: demo\nservices:\n  web: { image: busybox, replicas: 200 }\n");
    const relativePath = relative(process.cwd(), join(dir, "app.yaml"));
    const error = (await failure(loadManifestFile(relativePath))) as ManifestError;
    expect(error.message).toBe(`${relativePath}: services.web.replicas: at most 100 replicas`);
    expect(error.path).toBe("services.web.replicas");
  });

  it("loads JSON", async () => {
    const path = write("app.json", JSON.stringify({ namespace: "demo", services: { web: { image: "busybox" } } }));
    expect((await loadManifestFile(path)).spec.services.web!.image).toBe("busybox");
  });

  it("a missing file is NotFoundError; a directory, an empty file or binary junk a ManifestError", async () => {
    expect(await failure(loadManifestFile(join(dir, "nope.yaml")))).toBeInstanceOf(NotFoundError);
    mkdirSync(join(dir, "sub.yaml"));
    expect((await failure(loadManifestFile(join(dir, "sub.yaml")))).message).toBe(`${join(dir, "sub.yaml")}: is a directory`);
    expect((await failure(loadManifestFile(write("empty.yaml", "")))).message).toBe(`${join(dir, "empty.yaml")}: is empty`);
    expect((await failure(loadManifestFile(write("junk.yaml", Buffer.from([0xff, 0xfe, 0x00, 0x81]))))).message).toBe(`${join(dir, "junk.yaml")}: is not UTF-8 text`);
  });

  it("resolves a relative bind against the Compose file's directory", async () => {
    const path = write("proj/compose.yaml", "services:\n  web:\n    image: busybox\n    volumes: [./data:/data, ../shared:/shared:ro]\n");
    const { spec, format } = await loadManifestFile(path, { namespace: "proj" });
    expect(format).toBe("compose");
    expect(spec.services.web!.volumes).toEqual([
      { type: "bind", source: join(dir, "proj", "data"), target: "/data", readOnly: false },
      { type: "bind", source: join(dir, "shared"), target: "/shared", readOnly: true },
    ]);
  });

  it("asks for -n when a Compose file has no name", async () => {
    const path = write("compose.yaml", "services:\n  web:\n    image: busybox\n");
    expect((await failure(loadManifestFile(path))).message).toBe(`${path}: has no name: pass -n NAMESPACE, or set a top-level name:`);
  });

  it("reads a config file from beside the Compose file", async () => {
    write("proj/site/index.html", "<p>hi</p>\n");
    const path = write("proj/compose.yaml", composeWithConfig("./site/index.html"));
    const { spec } = await loadManifestFile(path);
    expect(spec.services.web!.configs).toEqual([{ target: "/page", content: "<p>hi</p>\n", mode: 0o444 }]);
  });

  it.each(["../../etc/shadow", "/etc/shadow", "../outside.txt"])("refuses a config file escaping the directory: %s", async (file) => {
    write("outside.txt", "secret");
    const path = write("proj/compose.yaml", composeWithConfig(file));
    const error = (await failure(loadManifestFile(path))) as ManifestError;
    expect(error.message).toBe(`${path}: configs.page.file: ${JSON.stringify(file)} is outside the directory of ${path}; files it refers to must be beside it`);
    expect(error.path).toBe("configs.page.file");
  });

  it("refuses a config file that leads outside through a symlink", async () => {
    write("outside.txt", "secret");
    mkdirSync(join(dir, "proj"));
    symlinkSync(join(dir, "outside.txt"), join(dir, "proj", "link.txt"));
    const path = write("proj/compose.yaml", composeWithConfig("./link.txt"));
    const error = await failure(loadManifestFile(path));
    expect(error.message).toBe(`${path}: configs.page.file: cannot read "./link.txt": it leads (through a symlink) to ${join(dir, "outside.txt")}, outside the Compose file's directory`);
  });

  it("refuses a missing, oversized or binary config file", async () => {
    const path = write("proj/compose.yaml", composeWithConfig("./page.html"));
    expect((await failure(loadManifestFile(path))).message).toBe(`${path}: configs.page.file: cannot read "./page.html": no such file`);
    write("proj/page.html", "x".repeat(MAX_CONFIG_FILE_BYTES + 1));
    expect((await failure(loadManifestFile(path))).message).toBe(
      `${path}: configs.page.file: cannot read "./page.html": is 256 KiB (${MAX_CONFIG_FILE_BYTES + 1} bytes), over the 256 KiB (${MAX_CONFIG_FILE_BYTES} bytes) limit for a file beside a Compose file`,
    );
    write("proj/page.html", Buffer.from([0xc3, 0x28]));
    expect((await failure(loadManifestFile(path))).message).toBe(`${path}: configs.page.file: cannot read "./page.html": is not UTF-8 text`);
  });
});

describe("loadManifestFile: what a Compose file takes from around it", () => {
  const compose = [
    "name: app",
    "services:",
    "  web:",
    "    image: busybox:${TAG}",
    "    environment: { GREETING: \"${GREETING:-none}\" }",
    "  extra:",
    "    image: busybox",
    "    profiles: [extra]",
    "",
  ].join("\n");

  it("interpolates from the environment over the .env beside the file", async () => {
    write("proj/.env", "TAG=from-dotenv\nGREETING='hello $TAG'\n");
    const path = write("proj/compose.yaml", compose);
    expect((await loadManifestFile(path, { environment: {} })).spec.services.web).toMatchObject({ image: "busybox:from-dotenv", env: { GREETING: "hello $TAG" } });
    expect((await loadManifestFile(path, { environment: { TAG: "from-shell" } })).spec.services.web!.image).toBe("busybox:from-shell");
  });

  it("works without a .env, and names the file and line of a bad one", async () => {
    const path = write("proj/compose.yaml", compose);
    expect((await loadManifestFile(path, { environment: { TAG: "1" } })).spec.services.web!.image).toBe("busybox:1");
    write("proj/.env", "TAG=1\nBROKEN\n");
    const error = await failure(loadManifestFile(path, { environment: {} }));
    expect(error).toBeInstanceOf(ManifestError);
    expect(error.message).toBe(`${join(dir, "proj", ".env")}: line 2: BROKEN has no value: write BROKEN=VALUE (or BROKEN=\${BROKEN} to take it from your environment)`);
  });

  it("takes profiles from --profile, else COMPOSE_PROFILES (also from .env)", async () => {
    const path = write("proj/compose.yaml", compose);
    const services = async (options: Parameters<typeof loadManifestFile>[1]) => Object.keys((await loadManifestFile(path, options)).spec.services).sort();
    expect(await services({ environment: { TAG: "1" } })).toEqual(["web"]);
    expect(await services({ environment: { TAG: "1" }, profiles: ["extra"] })).toEqual(["extra", "web"]);
    expect(await services({ environment: { TAG: "1", COMPOSE_PROFILES: "extra" } })).toEqual(["extra", "web"]);
    write("proj/.env", "COMPOSE_PROFILES=extra\n");
    expect(await services({ environment: { TAG: "1" } })).toEqual(["extra", "web"]);
  });

  it("reads a secret file's bytes, asks for the cluster's key only when a deployed service uses a secret, and never for a bad file", async () => {
    write("proj/db.bin", Buffer.from([0, 1, 2, 255]));
    let asked = 0;
    const secretKey = async () => {
      asked++;
      return new Uint8Array(32).fill(1);
    };
    const used = write("proj/compose.yaml", "name: app\nservices:\n  web:\n    image: busybox\n    secrets: [db]\nsecrets:\n  db:\n    file: ./db.bin\n");
    const loaded = await loadManifestFile(used, { secretKey });
    expect(asked).toBe(1);
    expect(loaded.secrets.map((s) => [s.name, Buffer.from(s.value).toString("hex")])).toEqual([["db", "000102ff"]]);
    expect(loaded.spec.services.web!.secrets![0]!.version).toBe(loaded.secrets[0]!.version);

    const unused = write("proj/unused.yaml", "name: app\nservices:\n  web:\n    image: busybox\nsecrets:\n  db:\n    file: ./db.bin\n");
    expect((await loadManifestFile(unused, { secretKey })).secrets).toEqual([]);
    const broken = write("proj/broken.yaml", "name: app\nservices:\n  web:\n    image: busybox\n    privileged: true\n    secrets: [db]\nsecrets:\n  db:\n    file: ./db.bin\n");
    expect((await failure(loadManifestFile(broken, { secretKey }))).message).toContain("services.web.privileged");
    expect(asked).toBe(1);
  });

  it("refuses an env_file that leads outside through a symlink", async () => {
    write("outside.env", "SECRET=1\n");
    mkdirSync(join(dir, "proj"));
    symlinkSync(join(dir, "outside.env"), join(dir, "proj", "app.env"));
    const path = write("proj/compose.yaml", "name: app\nservices:\n  web:\n    image: busybox\n    env_file: app.env\n");
    expect((await failure(loadManifestFile(path))).message).toBe(
      `${path}: services.web.env_file: cannot read "app.env": it leads (through a symlink) to ${join(dir, "outside.env")}, outside the Compose file's directory`,
    );
  });
});
