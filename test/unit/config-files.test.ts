import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { createAccount, createUser } from "@nats-io/nkeys";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, DaemonNotRunningError, DataDirNotWritableError } from "../../model/errors.ts";
import { isValidName } from "../../model/names.ts";
import { readContext, writeContext, type Context } from "../../runtime/context.ts";
import { resolveDevDataDir } from "../../runtime/dev.ts";
import { ensureWritableDir, readJsonFile } from "../../runtime/files.ts";
import { loadOrCreateIdentity, readIdentity } from "../../runtime/keys.ts";
import { generateMachineId, loadOrCreateNodeConfig } from "../../runtime/node-config.ts";
import { dataPaths } from "../../runtime/paths.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ployz-unit-"));
});
afterEach(() => {
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (path: string) => statSync(path).mode & 0o777;
const isRoot = process.getuid?.() === 0;

/** Runs `fn` and returns what it threw (failing the test if it did not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("readJsonFile", () => {
  const schema = z.object({ name: z.string(), nats: z.object({ port: z.number().int().max(65535) }) }).strict();
  const read = (path: string) => readJsonFile(path, schema, "test config", "fix the test config");

  it("reads and validates a good file", () => {
    const file = join(dir, "good.json");
    writeFileSync(file, JSON.stringify({ name: "a", nats: { port: 4222 } }));
    expect(read(file)).toEqual({ name: "a", nats: { port: 4222 } });
  });

  it("returns undefined for a missing file", () => {
    expect(read(join(dir, "absent.json"))).toBeUndefined();
  });

  it("rejects malformed JSON with a ConfigError naming the file, keeping the parse error", () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, '{ "name": "a", ');
    const error = thrown(() => read(file));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(file);
    expect((error as ConfigError).message).toContain("test config");
    expect((error as ConfigError).message).toContain("not valid JSON");
    expect((error as ConfigError).hint).toBe("fix the test config");
    expect((error as ConfigError).cause).toBeInstanceOf(SyntaxError);
  });

  it("rejects a schema violation with a ConfigError naming the file and the field path", () => {
    const file = join(dir, "bad-port.json");
    writeFileSync(file, JSON.stringify({ name: "a", nats: { port: 70000 } }));
    const error = thrown(() => read(file)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(file);
    expect(error.message).toContain("invalid at nats.port");
    expect(error.code).toBe("config-invalid");
  });

  it("names the top level when the document itself is the wrong shape", () => {
    const file = join(dir, "array.json");
    writeFileSync(file, "[]");
    expect((thrown(() => read(file)) as Error).message).toContain("invalid at (top level)");
  });

  it("rejects unknown keys of a strict schema", () => {
    const file = join(dir, "extra.json");
    writeFileSync(file, JSON.stringify({ name: "a", nats: { port: 1 }, surprise: true }));
    expect(thrown(() => read(file))).toBeInstanceOf(ConfigError);
  });

  it("reports a path it cannot read (not a missing file) as a ConfigError", () => {
    const error = thrown(() => read(dir)); // a directory
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`cannot read test config ${dir}`);
  });
});

describe("contexts", () => {
  const env = () => ({ XDG_CONFIG_HOME: join(dir, "config"), HOME: join(dir, "home") });
  const contextsDir = () => join(dir, "config", "ployz", "contexts");
  const aContext = (overrides: Partial<Context> = {}): Context => ({
    name: "dev",
    servers: ["nats://127.0.0.1:4222"],
    seedFile: join(dir, "data", "keys", "operator.nk"),
    machineId: "m1",
    dataDir: join(dir, "data"),
    ...overrides,
  });

  it("writes a context as the current one and reads it back", () => {
    const file = writeContext(aContext(), env());
    expect(file).toBe(join(contextsDir(), "dev.json"));
    expect(readContext(env())).toEqual(aContext());
    expect(readContext(env(), "dev")).toEqual(aContext());
  });

  it("dev's data directory: the flag, else the dev context's, else the default; an unreadable dev context is an error, not a second machine elsewhere", () => {
    const e = { ...env(), XDG_DATA_HOME: join(dir, "xdg-data") };
    expect(resolveDevDataDir(e, "/flag")).toBe("/flag");
    expect(resolveDevDataDir(e)).toBe(join(dir, "xdg-data", "ployz", "dev"));
    writeContext(aContext({ dataDir: join(dir, "elsewhere") }), e);
    expect(resolveDevDataDir(e)).toBe(join(dir, "elsewhere"));
    writeFileSync(join(contextsDir(), "dev.json"), "{ not json");
    expect(thrown(() => resolveDevDataDir(e))).toBeInstanceOf(ConfigError);
  });

  it("a current-context file that exists but cannot be read is an error, not 'no context'", () => {
    writeContext(aContext(), env());
    const current = join(dir, "config", "ployz", "current");
    rmSync(current);
    mkdirSync(current); // reading a directory fails with EISDIR, even as root
    expect(thrown(() => readContext(env()))).toBeInstanceOf(ConfigError);
  });

  it("writes the context and the current-context file with mode 0600, leaving no temp files", () => {
    const file = writeContext(aContext(), env());
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(join(dir, "config", "ployz", "current"))).toBe(0o600);
    expect(readdirSync(contextsDir())).toEqual(["dev.json"]);
    expect(readdirSync(join(dir, "config", "ployz")).sort()).toEqual(["contexts", "current"]);
  });

  it("tightens an existing, too open context file to 0600 when rewriting it", () => {
    mkdirSync(contextsDir(), { recursive: true });
    const file = join(contextsDir(), "dev.json");
    writeFileSync(file, "{}", { mode: 0o644 });
    chmodSync(file, 0o644);
    writeContext(aContext({ machineId: "m2" }), env());
    expect(modeOf(file)).toBe(0o600);
    expect(readContext(env()).machineId).toBe("m2");
  });

  it("refuses to write an invalid context, and writes nothing", () => {
    expect(() => writeContext(aContext({ servers: ["http://127.0.0.1:4222"] }), env())).toThrow();
    expect(() => readdirSync(contextsDir())).toThrow();
  });

  it("says no daemon runs, with a hint to `ployzctl dev up`, when there is no context at all", () => {
    const error = thrown(() => readContext(env()));
    expect(error).toBeInstanceOf(DaemonNotRunningError);
    expect((error as DaemonNotRunningError).hint).toContain("ployzctl dev up");
    expect((error as Error).message).toContain(join(dir, "config", "ployz"));
  });

  it("says no daemon runs when the named context does not exist", () => {
    writeContext(aContext(), env());
    const error = thrown(() => readContext(env(), "prod"));
    expect(error).toBeInstanceOf(DaemonNotRunningError);
    expect((error as Error).message).toContain('context "prod"');
    expect((error as DaemonNotRunningError).hint).toContain("ployzctl dev up");
  });

  it("prefers PLOYZ_CONTEXT over the current file, and an explicit name over both", () => {
    writeContext(aContext({ name: "one", machineId: "m1" }), env());
    writeContext(aContext({ name: "two", machineId: "m2" }), env()); // current = two
    expect(readContext(env()).machineId).toBe("m2");
    expect(readContext({ ...env(), PLOYZ_CONTEXT: "one" }).machineId).toBe("m1");
    expect(readContext({ ...env(), PLOYZ_CONTEXT: "one" }, "two").machineId).toBe("m2");
  });

  it("refuses a context name that could escape the contexts directory", () => {
    mkdirSync(join(dir, "config", "ployz"), { recursive: true });
    writeFileSync(join(dir, "config", "ployz", "evil.json"), JSON.stringify(aContext({ name: "evil" })));
    for (const name of ["../evil", "a/b", "Dev"]) {
      const error = thrown(() => readContext({ ...env(), PLOYZ_CONTEXT: name }));
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain("PLOYZ_CONTEXT");
    }
  });

  it("rejects a malformed context file with a ConfigError naming the file", () => {
    mkdirSync(contextsDir(), { recursive: true });
    const file = join(contextsDir(), "dev.json");
    writeFileSync(file, "not json");
    const error = thrown(() => readContext(env(), "dev"));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(file);
    expect((error as ConfigError).hint).toContain("ployzctl dev up");
  });

  it("rejects a context with a bad field, naming the field path", () => {
    mkdirSync(contextsDir(), { recursive: true });
    const file = join(contextsDir(), "dev.json");
    writeFileSync(file, JSON.stringify({ ...aContext(), servers: ["nats://ok:4222", "tcp://bad:4222"] }));
    const error = thrown(() => readContext(env(), "dev"));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain("invalid at servers.1");
  });
});

describe("ensureWritableDir", () => {
  it("creates a missing directory (with parents) and leaves no probe file behind", () => {
    const target = join(dir, "a", "b", "data");
    ensureWritableDir(target);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(target)).toEqual([]);
  });

  it("fails with DataDirNotWritableError for a path under a regular file", () => {
    const file = join(dir, "file");
    writeFileSync(file, "");
    const error = thrown(() => ensureWritableDir(join(file, "data")));
    expect(error).toBeInstanceOf(DataDirNotWritableError);
    expect((error as Error).message).toContain(join(file, "data"));
    expect((error as Error).message).toContain("ENOTDIR");
    expect((error as DataDirNotWritableError).hint).toContain("--data-dir");
    expect((error as Error).cause).toBeDefined();
  });

  it("fails with DataDirNotWritableError for a directory it may not write", { skip: isRoot }, () => {
    const target = join(dir, "read-only");
    mkdirSync(target, { mode: 0o500 });
    chmodSync(target, 0o500);
    expect(() => ensureWritableDir(target)).toThrow(DataDirNotWritableError);
  });
});

describe("loadOrCreateNodeConfig", () => {
  function portSource(port: number) {
    const calls: number[] = [];
    return {
      calls,
      natsPort: async () => {
        calls.push(port);
        return port;
      },
    };
  }

  it("creates machine.json (mode 0600) on first start, and reads the same config afterwards", async () => {
    const paths = dataPaths(join(dir, "data"));
    const first = portSource(14222);
    const created = await loadOrCreateNodeConfig(paths, { machineId: "lab-1", region: "eu", zone: "eu-a", natsPort: first.natsPort });
    expect(created).toMatchObject({
      version: 1,
      machineId: "lab-1",
      region: "eu",
      zone: "eu-a",
      storage: true,
      nats: { host: "127.0.0.1", clientPort: 14222 },
    });
    expect(first.calls).toHaveLength(1);
    expect(modeOf(paths.machine)).toBe(0o600);
    expect(JSON.parse(readFileSync(paths.machine, "utf8"))).toEqual(created);

    const second = portSource(19999);
    const loaded = await loadOrCreateNodeConfig(paths, { machineId: "other", region: "us", natsPort: second.natsPort });
    expect(loaded).toEqual(created);
    expect(second.calls).toHaveLength(0);
  });

  it("generates a valid machine id and the local region when none is given", async () => {
    const paths = dataPaths(join(dir, "data"));
    const config = await loadOrCreateNodeConfig(paths, portSource(4222));
    expect(isValidName(config.machineId)).toBe(true);
    expect(config.region).toBe("local");
    expect(config).not.toHaveProperty("zone");
  });

  it("refuses an invalid machine id from the defaults, and writes nothing", async () => {
    const paths = dataPaths(join(dir, "data"));
    await expect(loadOrCreateNodeConfig(paths, { machineId: "Bad.Id", natsPort: portSource(4222).natsPort })).rejects.toThrow();
    expect(() => statSync(paths.machine)).toThrow();
  });

  it("rejects a malformed machine.json with a ConfigError naming the file, and does not replace it", async () => {
    const paths = dataPaths(join(dir, "data"));
    mkdirSync(paths.dataDir, { recursive: true });
    writeFileSync(paths.machine, "{ not json");
    const error = await rejected(loadOrCreateNodeConfig(paths, portSource(4222)));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(paths.machine);
    expect(readFileSync(paths.machine, "utf8")).toBe("{ not json");
  });

  it("rejects a machine.json with a bad field, naming the field path", async () => {
    const paths = dataPaths(join(dir, "data"));
    const config = await loadOrCreateNodeConfig(paths, { machineId: "lab-1", natsPort: portSource(4222).natsPort });
    writeFileSync(paths.machine, JSON.stringify({ ...config, nats: { ...config.nats, clientPort: 70000 } }));
    const error = await rejected(loadOrCreateNodeConfig(paths, portSource(4222)));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(paths.machine);
    expect((error as Error).message).toContain("invalid at nats.clientPort");
  });

  it("always generates a valid machine id, whatever the host name", () => {
    expect(generateMachineId("My_Host.example.com")).toMatch(/^my-host-example-com-[0-9a-f]{4}$/);
    expect(generateMachineId("")).toMatch(/^machine-[0-9a-f]{4}$/);
    expect(generateMachineId("---")).toMatch(/^machine-[0-9a-f]{4}$/);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (host) => {
        expect(isValidName(generateMachineId(host))).toBe(true);
      }),
    );
  });
});

describe("NATS identities", () => {
  it("creates a 0600 user seed once and returns the same public key next time", () => {
    const seedFile = join(dir, "keys", "machine.nk");
    const first = loadOrCreateIdentity(seedFile);
    expect(first.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    expect(first.seedFile).toBe(seedFile);
    expect(modeOf(seedFile)).toBe(0o600);
    const text = readFileSync(seedFile, "utf8");
    expect(text.trim()).toMatch(/^SU[A-Z2-7]+$/);

    const second = loadOrCreateIdentity(seedFile);
    expect(second.publicKey).toBe(first.publicKey);
    expect(readFileSync(seedFile, "utf8")).toBe(text);
    expect(readdirSync(join(dir, "keys"))).toEqual(["machine.nk"]);
  });

  it("gives different files different identities", () => {
    expect(loadOrCreateIdentity(join(dir, "a.nk")).publicKey).not.toBe(loadOrCreateIdentity(join(dir, "b.nk")).publicKey);
  });

  it("reads a seed written by someone else", () => {
    const pair = createUser();
    const seedFile = join(dir, "given.nk");
    writeFileSync(seedFile, `${new TextDecoder().decode(pair.getSeed())}\n`, { mode: 0o600 });
    expect(loadOrCreateIdentity(seedFile).publicKey).toBe(pair.getPublicKey());
  });

  it("rejects a garbage seed file with a ConfigError, and never replaces it with a new key", () => {
    const seedFile = join(dir, "machine.nk");
    writeFileSync(seedFile, "this is not a seed\n", { mode: 0o600 });
    const error = thrown(() => loadOrCreateIdentity(seedFile));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(seedFile);
    expect((error as Error).message).toContain("not a valid user seed");
    expect(readFileSync(seedFile, "utf8")).toBe("this is not a seed\n");
  });

  it("rejects an empty seed file rather than treating it as missing", () => {
    const seedFile = join(dir, "empty.nk");
    writeFileSync(seedFile, "");
    expect(() => loadOrCreateIdentity(seedFile)).toThrow(ConfigError);
    expect(readFileSync(seedFile, "utf8")).toBe("");
  });

  it("reports a missing seed file (when only reading) as a ConfigError", () => {
    const error = thrown(() => readIdentity(join(dir, "absent.nk")));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("does not exist");
  });

  // KNOWN BUG (reported, not fixed here): readIdentity accepts any nkey seed, so an account or
  // operator seed in a user's place yields a public key starting with "A"/"O", which NATS
  // authorization and the membership schema (`^U…`) reject much later and less clearly.
  it("rejects a seed that is valid but not a user seed", () => {
    const seedFile = join(dir, "account.nk");
    writeFileSync(seedFile, new TextDecoder().decode(createAccount().getSeed()));
    expect(() => readIdentity(seedFile)).toThrow(ConfigError);
  });
});
