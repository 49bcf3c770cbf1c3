import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../runtime/process.ts";

/**
 * A real ACME server (Debian's `pebble`) on loopback for one test file, with a throwaway CA for
 * its own HTTPS listener. By default it treats every challenge as valid; with `validate` it
 * really fetches http-01 challenges, resolving every name to 127.0.0.1 through
 * `pebble-challtestsrv`'s DNS and connecting to `validate.httpPort` (the gateway's HTTP port).
 */
export interface TestPebble {
  /** The ACME directory URL, `https://127.0.0.1:<port>/dir`. */
  directory: string;
  /** The throwaway CA that signs pebble's own HTTPS listener (PEM file and text). */
  caFile: string;
  caPem: string;
  /** The root that pebble's issued certificates chain to (from its management API). */
  issuingRoot(): Promise<string>;
  /** A certificate for `hostname` signed by the throwaway CA (not by pebble): as if obtained elsewhere. */
  signWithTestCa(hostname: string): { certPem: string; keyPem: string };
  dir: string;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface PebbleOptions {
  /** Validate http-01 challenges for real, against this port on 127.0.0.1. */
  validate?: { httpPort: number };
}

export async function startPebble(options: PebbleOptions = {}): Promise<TestPebble> {
  for (const program of ["pebble", "openssl", ...(options.validate ? ["pebble-challtestsrv"] : [])]) assertInstalled(program);
  const dir = mkdtempSync(join(tmpdir(), "ployz-test-pebble-"));
  const children: ChildProcess[] = [];
  const dispose = async () => {
    await Promise.all(children.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ca = makeThrowawayCa(dir);
    const [listenPort, managementPort, tlsPort] = await distinctFreePorts(3);
    const directory = `https://127.0.0.1:${listenPort}/dir`;
    const configFile = join(dir, "pebble.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listenPort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: ca.certFile,
          privateKey: ca.keyFile,
          httpPort: options.validate?.httpPort ?? 5002,
          tlsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    const args = ["-config", configFile, "-strict=false"];
    if (options.validate) {
      const [dnsPort, challengeManagementPort] = await distinctFreePorts(2);
      children.push(
        startChild(dir, "pebble-challtestsrv", [
          "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
          "-dns01", `127.0.0.1:${dnsPort}`, "-http01", "", "-https01", "", "-tlsalpn01", "",
          "-management", `127.0.0.1:${challengeManagementPort}`,
        ], {}),
      );
      args.push("-dnsserver", `127.0.0.1:${dnsPort}`);
    }
    children.push(
      startChild(dir, "pebble", args, {
        PEBBLE_VA_NOSLEEP: "1",
        // pebble rejects 5% of nonces by default to test clients; acme-client retries, but tests want one path
        PEBBLE_WFE_NONCEREJECT: "0",
        ...(options.validate ? {} : { PEBBLE_VA_ALWAYS_VALID: "1" }),
      }),
    );
    const deadline = Date.now() + 15_000;
    for (;;) {
      const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (exited) throw new Error(`${exited.spawnargs[0]} exited (code ${exited.exitCode}): ${tailOf(join(dir, `${exited.spawnargs[0]}.log`))}`);
      const answer = await httpsGet(directory, ca.pem).catch(() => undefined);
      if (answer?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`pebble did not answer at ${directory} within 15 s: ${tailOf(join(dir, "pebble.log"))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      directory,
      caFile: ca.caFile,
      caPem: ca.pem,
      dir,
      async issuingRoot() {
        const answer = await httpsGet(`https://127.0.0.1:${managementPort}/roots/0`, ca.pem);
        if (answer.status !== 200) throw new Error(`pebble's management API answered ${answer.status} for /roots/0`);
        return answer.body;
      },
      signWithTestCa(hostname) {
        const name = `${hostname}-${Date.now()}`;
        const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${hostname}`);
        writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${hostname}\nextendedKeyUsage=serverAuth\n`);
        openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
        return { certPem: readFileSync(join(dir, `${name}.pem`), "utf8"), keyPem: readFileSync(join(dir, `${name}.key`), "utf8") };
      },
      dispose,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** GET over HTTPS trusting only `ca`. */
export function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 3_000, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

function assertInstalled(program: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
  } catch {
    throw new Error(`${program} is not installed: apt-get install --no-install-recommends ${program === "pebble-challtestsrv" ? "pebble" : program} (or run scripts/setup.sh)`);
  }
}

/** A CA and a certificate it signs for localhost / 127.0.0.1, made with openssl in `dir`. */
function makeThrowawayCa(dir: string) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Ployz test CA for pebble");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
  return { certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key"), caFile: join(dir, "ca.pem"), pem: readFileSync(join(dir, "ca.pem"), "utf8") } as const;
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort("127.0.0.1"));
  return [...ports];
}

function startChild(dir: string, program: string, args: string[], env: Record<string, string>): ChildProcess {
  const log = openSync(join(dir, `${program}.log`), "a");
  const child = spawn(program, args, { cwd: dir, stdio: ["ignore", log, log], env: { ...process.env, ...env } });
  closeSync(log);
  child.on("error", () => undefined); // an exit code is reported by the readiness loop
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function tailOf(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ");
  } catch {
    return "(no log)";
  }
}
