import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificateKey, type CertificateRecord } from "../../model/certificates.ts";
import { subjects } from "../../model/subjects.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { openStore } from "../../runtime/store.ts";
import { runCli } from "../harness/cli.ts";
import { aNamespaceSpec, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine, connectAsOperator, eventually } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE, execIn } from "../harness/docker.ts";

/**
 * The redaction walk: secrets planted where a user puts them (a Compose secret from a file, one
 * from the environment, a config file's contents, a certificate's private key in the store), then
 * every output a person, an agent or a log sees is read and none may carry them.
 */

const FILE_SECRET = `file-secret-${randomBytes(8).toString("hex")}`;
const ENV_SECRET = `env-secret-${randomBytes(8).toString("hex")}`;
const CONFIG_CONTENT = `config-content-${randomBytes(8).toString("hex")}`;

let cluster: TestCluster;
let dir: string;
let keyBody: string;
let watcher: NatsConnection;
const published: string[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  dir = mkdtempSync(join(tmpdir(), "ployz-redaction-"));
  // Everything actors publish while the secrets move: snapshots and processed events.
  watcher = await connectAsOperator(cluster.home);
  for (const subject of [subjects.actorsAll(), subjects.eventsAll()]) watcher.subscribe(subject, { callback: (_e, msg) => void published.push(msg.string()) });
}, 120_000);

afterAll(async () => {
  await watcher?.close();
  rmSync(dir, { recursive: true, force: true });
  await cluster?.dispose();
});

/** A self-signed certificate for `host`; its key's base64 body is what must never show. */
function selfSigned(host: string): { certPem: string; keyPem: string } {
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "2", "-subj", `/CN=${host}`, "-addext", `subjectAltName=DNS:${host}`], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  return { certPem: readFileSync(join(dir, "c.pem"), "utf8"), keyPem: readFileSync(join(dir, "k.pem"), "utf8") };
}

/** Every file under `root`, read (logs, the NATS log, the DNS process's output). */
function filesUnder(root: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else if (stat.isFile() && /\.(log|out)$/.test(name)) out.push({ path, text: readFileSync(path, "utf8") });
  }
  return out;
}

describe("secrets stay secret", () => {
  it("no status, top, debug, events, inspector or log output carries a secret value, a config's contents or a TLS key", async () => {
    const ns = cluster.namespace("redact");
    const host = `${ns}.example.test`;
    // a certificate (with its key) in the store, served by the gateway for a tls: acme route
    const cert = selfSigned(host);
    keyBody = cert.keyPem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    const now = new Date();
    const record: CertificateRecord = {
      type: "certificate",
      hostname: host,
      ...cert,
      notBefore: new Date(now.getTime() - 60_000).toISOString(),
      notAfter: new Date(now.getTime() + 2 * 24 * 3600_000).toISOString(),
      issuer: host,
      directory: "https://acme.invalid/directory",
      obtainedAt: now.toISOString(),
      obtainedBy: "another-machine",
    };
    const machine = await connectAsMachine(cluster.home);
    try {
      await (await openStore(machine)).kv.tls.put(certificateKey(host), JSON.stringify(record));
    } finally {
      await machine.close();
    }

    // a Compose app with a secret from a file, one from the environment, and a config
    const project = join(dir, "app");
    mkdirSync(join(project, "secrets"), { recursive: true });
    writeFileSync(join(project, "secrets", "db.txt"), FILE_SECRET);
    writeFileSync(join(project, "page.html"), CONFIG_CONTENT);
    writeFileSync(
      join(project, "compose.yaml"),
      `services:
  web:
    image: ${BUSYBOX_IMAGE}
    command: ["/bin/sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    secrets: [db_password, api_token]
    configs:
      - source: page
        target: /srv/page.html
secrets:
  db_password:
    file: ./secrets/db.txt
  api_token:
    environment: API_TOKEN
configs:
  page:
    file: ./page.html
`,
    );
    const env = { ...cluster.home.env, API_TOKEN: ENV_SECRET };
    const deployed = await runCli(["deploy", "-f", join(project, "compose.yaml"), "-n", ns], env);
    expect(deployed.code, deployed.stderr).toBe(0);
    // the secrets really went in: the check below would pass vacuously otherwise
    const [container] = await cluster.containersOf(ns);
    expect(container).toBeDefined();
    expect(await execIn(cluster.docker, container!.Id, ["/bin/sh", "-c", "cat /run/secrets/db_password /run/secrets/api_token /srv/page.html"])).toEqual({ code: 0, output: `${FILE_SECRET}${ENV_SECRET}${CONFIG_CONTENT}` });
    // a route with tls: acme on the certificate's hostname (a manifest: Compose files have no tls routes)
    const tlsNs = cluster.namespace("redact-tls");
    await cluster.client.deploy({ spec: aNamespaceSpec(tlsNs, { web: httpService("tls", { routes: [{ hostnames: [host], port: 8080, tls: "acme" }] }) }) });
    await eventually(async () => ((await cluster.home.json("routes")) as { machines: Array<{ consumers?: Array<{ tls?: { certificates: Array<{ hostname: string }> } }> }> }).machines.some((m) => m.consumers?.some((c) => c.tls?.certificates.some((x) => x.hostname === host))) ? true : undefined, "the gateway to serve the stored certificate");

    const outputs: Array<{ what: string; text: string }> = [
      { what: "deploy stdout", text: deployed.stdout },
      { what: "deploy stderr", text: deployed.stderr },
    ];
    for (const args of [["status", "--json"], ["status"], ["top", "--once", "--json"], ["top", "--once"], ["debug", "actors", "--json"], ["debug", "events", "--json"], ["ps", "-n", ns, "--json"], ["history", "-n", ns, "--json"], ["explain", "-n", ns, "web", "--json"], ["routes", "--json"], ["routes"], ["events", "--json"], ["events"], ["events", "-n", ns, "--json"]]) {
      const result = await cluster.home.cli(...args);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      outputs.push({ what: `ployzctl ${args.join(" ")}`, text: result.stdout + result.stderr });
    }
    outputs.push({ what: "inspector snapshots and events (ployz.actors.*, ployz.events.*)", text: published.join("\n") });
    expect(published.length).toBeGreaterThan(0);
    for (const file of filesUnder(cluster.home.dataDir)) outputs.push({ what: file.path, text: file.text });
    expect(outputs.some((o) => o.what === dataPaths(cluster.home.dataDir).daemonLog)).toBe(true);

    for (const { what, text } of outputs) {
      for (const [name, secret] of [["a Compose secret from a file", FILE_SECRET], ["a Compose secret from the environment", ENV_SECRET], ["a config's contents", CONFIG_CONTENT], ["a TLS private key", keyBody]] as const) {
        expect(text.includes(secret), `${what} carries ${name}`).toBe(false);
      }
      expect(text.includes("PRIVATE KEY"), `${what} carries a PEM private key`).toBe(false);
    }
  }, 120_000);
});
