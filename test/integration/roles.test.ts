import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { PermissionViolationError, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { requestJson } from "../../actors/nats/request.ts";
import { credentialFileSchema, type CredentialFile, type CredentialList } from "../../model/credentials.ts";
import { inboxPrefix } from "../../model/roles.ts";
import { JETSTREAM_DOMAIN } from "../../model/store-layout.ts";
import { connectNats } from "../../runtime/nats/connect.ts";
import { aNamespaceSpec, httpService, startTestCluster, type TestCluster } from "../harness/cluster.ts";
import { connectAsMachine, connectAsOperator, eventually, startDevDaemon } from "../harness/daemon.ts";

/**
 * Least privilege, enforced by NATS itself: for each role a real client with that identity does
 * what it may, and the server refuses what it may not. Credentials are made, imported, revoked and
 * left to expire through the CLI, as a user does.
 */

let cluster: TestCluster;
const open: NatsConnection[] = [];
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(open.map((nc) => nc.close()));
  await cluster?.dispose();
});

/** `ployzctl credentials create NAME --role ROLE [...]`, its stdout parsed as the credentials file. */
async function createCredential(name: string, role: string, ...extra: string[]): Promise<CredentialFile> {
  const result = await cluster.home.cli("credentials", "create", name, "--role", role, ...extra);
  expect(result.code, result.stderr).toBe(0);
  return credentialFileSchema.parse(JSON.parse(result.stdout));
}

async function connectWith(file: CredentialFile): Promise<NatsConnection> {
  const nc = await connectNats({ servers: file.servers, seed: new TextEncoder().encode(file.seed), name: `test ${file.name}`, inboxPrefix: inboxPrefix({ role: file.role, name: file.name }), reconnect: false });
  open.push(nc);
  return nc;
}

/**
 * The call fails because NATS refused it: its error is the permission violation (or carries it),
 * or the connection was told of a violation while the call ran (a JetStream request whose subject
 * the server mapped from the domain's prefix fails only by its timeout, the violation comes apart).
 */
async function refusedByNats(nc: NatsConnection, call: () => Promise<unknown>): Promise<void> {
  const violations: PermissionViolationError[] = [];
  const statuses = nc.status();
  void (async () => {
    for await (const s of statuses) if (s.type === "error" && s.error instanceof PermissionViolationError) violations.push(s.error);
  })();
  try {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, "expected NATS to refuse it").toBeDefined();
    const direct = error instanceof PermissionViolationError || (error instanceof Error && (error.cause instanceof PermissionViolationError || (error as { code?: string }).code === "permission-denied"));
    expect(direct || violations.length > 0, `expected a permission violation, got ${String(error)}`).toBe(true);
  } finally {
    (statuses as { stop?: () => void }).stop?.();
  }
}

/** A subscription NATS refuses: its callback gets the violation. */
function subscriptionRefused(nc: NatsConnection, subject: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`NATS did not refuse a subscription to ${subject}`)), 5_000);
    nc.subscribe(subject, {
      callback: (error) => {
        clearTimeout(timer);
        if (error instanceof PermissionViolationError) resolve();
        else reject(new Error(`a message on ${subject} arrived instead of a refusal`));
      },
    });
  });
}

const api = (nc: NatsConnection, verb: string, body: unknown = {}) => requestJson(nc, `ployz.api.${verb}`, body, z.unknown(), { who: "ployzd (API)", timeoutMs: 5_000 });
const jsm = (nc: NatsConnection) => jetstreamManager(nc, { domain: JETSTREAM_DOMAIN, timeout: 1_500 });
const kvGet = async (nc: NatsConnection, bucket: string, key: string) => (await new Kvm(jetstream(nc, { domain: JETSTREAM_DOMAIN, timeout: 1_500 })).open(bucket)).get(key);

describe("what each role may do, as NATS enforces it", () => {
  it("an observer reads the cluster through the API and nothing else", async () => {
    const nc = await connectWith(await createCredential("watcher", "observer"));
    await expect(api(nc, "status")).resolves.toMatchObject({ type: "status" });
    await expect(api(nc, "ps")).resolves.toBeDefined();
    await expect(api(nc, "routes")).resolves.toBeDefined();
    await refusedByNats(nc, () => api(nc, "deploy", { spec: {} }));
    await refusedByNats(nc, () => api(nc, "logs", { namespace: "x", service: "y" }));
    await refusedByNats(nc, () => api(nc, "credentials.create", {}));
    await refusedByNats(nc, () => requestJson(nc, `ployz.m.${cluster.machineId}.container.start`, {}, z.unknown(), { who: "machine" }));
    await refusedByNats(nc, () => jsm(nc)); // no store access at all
    await subscriptionRefused(nc, "_INBOX.>");
    await subscriptionRefused(nc, `ployz.m.${cluster.machineId}.>`);
  });

  it("the operator runs the cluster through the API, but writes neither routing nor commits and never reads the TLS keys", async () => {
    const nc = await connectAsOperator(cluster.home);
    open.push(nc);
    await expect(api(nc, "status")).resolves.toMatchObject({ type: "status" });
    await expect(kvGet(nc, "namespaces", "anything")).resolves.toBeNull();
    await refusedByNats(nc, () => kvGet(nc, "tls", "cert.example.com"));
    await refusedByNats(nc, () => kvGet(nc, "credentials", "watcher"));
    const js = jetstream(nc, { domain: JETSTREAM_DOMAIN, timeout: 1_500 });
    await refusedByNats(nc, () => js.publish("routing.evil.web", "{}"));
    await refusedByNats(nc, () => js.publish("commits.evil", "{}"));
    await refusedByNats(nc, async () => (await jsm(nc)).streams.delete("COMMITS"));
    await refusedByNats(nc, async () => (await jsm(nc)).streams.purge("ROUTING"));
    await refusedByNats(nc, () => requestJson(nc, `ployz.m.${cluster.machineId}.container.start`, {}, z.unknown(), { who: "machine" }));
    await subscriptionRefused(nc, "_INBOX.>");
  });

  it("a gateway reads routing and certificates, and nothing else", async () => {
    const nc = await connectWith(await createCredential("edge", "gateway"));
    const manager = await jsm(nc);
    await expect(manager.streams.info("ROUTING")).resolves.toMatchObject({ config: { name: "ROUTING" } });
    await expect(kvGet(nc, "tls", "cert.example.com")).resolves.toBeNull();
    await refusedByNats(nc, () => kvGet(nc, "secrets", "anything"));
    await refusedByNats(nc, () => manager.streams.info("COMMITS"));
    await refusedByNats(nc, () => api(nc, "status"));
  });

  it("a machine serves only its own subjects and deletes no stream", async () => {
    const nc = await connectAsMachine(cluster.home);
    open.push(nc);
    await expect((await jsm(nc)).streams.info("COMMITS")).resolves.toMatchObject({ config: { name: "COMMITS" } });
    await refusedByNats(nc, async () => (await jsm(nc)).streams.delete("ROUTING"));
    await refusedByNats(nc, () => requestJson(nc, "ployz.actors.another-machine", {}, z.unknown(), { who: "x" }));
    await refusedByNats(nc, () => requestJson(nc, "ployz.m.another-machine.debug.crash", {}, z.unknown(), { who: "x" }));
    await subscriptionRefused(nc, "ployz.m.another-machine.>");
  });
});

describe("credentials through the CLI", () => {
  it("an imported observer context can look but not deploy, and the error names its role", async () => {
    const created = await cluster.home.cli("credentials", "create", "viewer", "--role", "observer", "--expires", "7d");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain("holds its private key");
    const file = join(cluster.home.root, "viewer.json");
    writeFileSync(file, created.stdout, { mode: 0o644 });
    const loose = await cluster.home.cli("context", "import", file);
    expect(loose.code).toBe(1);
    expect(loose.stderr).toContain("others may read it (mode 0644)");
    chmodSync(file, 0o600);
    const imported = await cluster.home.cli("context", "import", file);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain("imported context viewer (observer viewer)");

    const status = await cluster.home.cli("--context", "viewer", "status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(cluster.machineId);
    for (const args of [["ps"], ["routes"]]) expect((await cluster.home.cli("--context", "viewer", ...args)).code).toBe(0);

    const manifest = join(cluster.home.root, "app.json");
    writeFileSync(manifest, JSON.stringify(aNamespaceSpec(cluster.namespace("viewer"), { web: httpService("x") })));
    const deploy = await cluster.home.cli("--context", "viewer", "deploy", "-f", manifest);
    expect(deploy.code, deploy.stderr).toBe(1);
    expect(deploy.stderr).toMatch(/^error: the observer role \(context viewer, identity viewer\) may not do ployzctl's deploy: NATS refused this identity a request on ployz\.api\.deploy/);
    expect(deploy.stderr.trim().split("\n")).toHaveLength(2); // one line and its hint
    const mint = await cluster.home.cli("--context", "viewer", "credentials", "create", "sneaky", "--role", "operator");
    expect(mint.code).toBe(1);
    expect(mint.stderr).toContain("may not do ployzctl's credentials.create");
  });

  it("a revoked credential is refused at once, and a connection it holds is closed", async () => {
    const file = await createCredential("leaver", "observer");
    const nc = await connectWith(file);
    await expect(api(nc, "ping")).resolves.toMatchObject({ type: "pong" });
    const closed = nc.closed();
    const revoked = await cluster.home.cli("credentials", "revoke", "leaver");
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain("revoked credential leaver (observer)");
    // the revoke answered after this machine's nats-server reloaded: no grace period
    await expect(connectWith(file)).rejects.toMatchObject({ code: "config-invalid", message: expect.stringContaining("refused this identity") });
    expect(await Promise.race([closed.then(() => "closed"), new Promise((r) => setTimeout(() => r("still open"), 5_000))])).toBe("closed");

    const list = await cluster.home.json<CredentialList>("credentials", "ls");
    expect(list.credentials.find((c) => c.name === "leaver")).toMatchObject({ role: "observer", state: "revoked" });
    // names are never reused
    const again = await cluster.home.cli("credentials", "create", "leaver", "--role", "observer");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("credential leaver already exists (revoked at");
  });

  it("an expired credential is refused from its expiry on, without anyone asking", async () => {
    const file = await createCredential("brief", "observer", "--expires", "3s");
    expect(file.expiresAt).toBeDefined();
    const nc = await connectWith(file);
    await expect(api(nc, "ping")).resolves.toMatchObject({ type: "pong" });
    await eventually(
      async () => {
        const refused = await connectWith(file).then(
          () => false,
          () => true,
        );
        return refused ? true : undefined;
      },
      "the expired credential to be refused",
      15_000,
    );
    expect((await cluster.home.json<CredentialList>("credentials", "ls")).credentials.find((c) => c.name === "brief")?.state).toBe("expired");
  });

  it("refuses what makes no sense, saying what", async () => {
    const longer = await cluster.home.cli("credentials", "create", "forever", "--role", "observer", "--expires", "400d");
    expect(longer.code).toBe(2);
    expect(longer.stderr).toContain("--expires 400d: at most 366d");
    const badRole = await cluster.home.cli("credentials", "create", "boss", "--role", "machine");
    expect(badRole.code).toBe(2);
    const reserved = await cluster.home.cli("credentials", "create", "local-x", "--role", "observer");
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toContain(`credential names starting with "local-" are the machines' own operators`);
    const revokeNone = await cluster.home.cli("credentials", "revoke", "nobody");
    expect(revokeNone.code).toBe(1);
    expect(revokeNone.stderr).toContain("no credential nobody");
  });

  it("credentials survive a ployzd restart: the active one is admitted, the revoked one is not", async () => {
    const kept = await createCredential("keeper", "observer");
    const dropped = await createCredential("dropped", "observer");
    expect((await cluster.home.cli("credentials", "revoke", "dropped")).code).toBe(0);
    const pid = (await cluster.client.ping()).pid;
    process.kill(pid, "SIGKILL");
    await eventually(async () => (await cluster.client.ping().then(() => undefined, () => true)), "ployzd to die");
    await startDevDaemon(cluster.home);
    await expect(api(await connectWith(kept), "ping")).resolves.toMatchObject({ type: "pong" });
    await expect(connectWith(dropped)).rejects.toMatchObject({ message: expect.stringContaining("refused this identity") });
  });
});

