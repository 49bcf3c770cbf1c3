import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import type Docker from "dockerode";
import { LABELS } from "../../model/instance.ts";
import { connectClient, type PloyzClient } from "../../runtime/client.ts";
import { readContext, type Context } from "../../runtime/context.ts";
import { devUp } from "../../runtime/dev.ts";
import { createDocker } from "../../runtime/docker.ts";
import { dataPaths } from "../../runtime/paths.ts";
import { createTestHome, stopEverything } from "../../test/harness/daemon.ts";
import type { Cleanup } from "./cleanup.ts";

/** A dev ployzd of the benchmark's own, and what talks to it. */
export interface DevCluster {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  /** `<data>/logs/ployzd.log`: the daemon's JSON log, with the "deploy phase" lines. */
  logFile: string;
  machineId: string;
  context: Context;
  /** Connected through the `dev` context, as ployzctl is. */
  client: PloyzClient;
  docker: Docker;
  /** A namespace name no one else uses (`<prefix>-<token>-<n>`), removed again at clean-up. */
  newNamespace(prefix: string): string;
  /** Removes every container of `namespace` now; returns how many there were. */
  removeNamespace(namespace: string): Promise<number>;
}

/**
 * Starts ployzd with `devUp` in a temporary home (its own XDG_CONFIG_HOME and XDG_DATA_HOME, so
 * no context of yours is touched; its DNS on a free port, as in the tests, since another
 * cluster on this computer may hold port 53) and connects a client. The run's Cleanup removes, newest
 * first, the namespaces' containers, the client, the daemon (and a nats-server it leaves) and
 * the home. Ployz has no `delete` yet: a namespace is removed by its containers' label
 * `ployz.namespace=<ns>`; its records go with the data directory.
 */
export async function startDevCluster(cleanup: Cleanup, machineId: string): Promise<DevCluster> {
  const home = createTestHome();
  cleanup.add(`remove ${home.root}`, () => rmSync(home.root, { recursive: true, force: true }));
  const up = (await cleanup.own("stop ployzd", devUp({ dataDir: home.dataDir, env: home.env, extraArgs: ["--machine-id", machineId, "--dns-port", "0"] }), () => stopEverything(home.dataDir))).value;
  const context = readContext(home.env, "dev");
  const client = (await cleanup.own("close the client", connectClient(context), (c) => c.close())).value;
  const docker = createDocker(home.env);

  const token = randomBytes(3).toString("hex");
  const namespaces = new Set<string>();
  let count = 0;
  const removeNamespace = (namespace: string) => removeLabelledContainers(docker, LABELS.namespace, namespace);
  cleanup.add("remove the benchmark's namespaces", async () => {
    for (const namespace of namespaces) await removeNamespace(namespace);
  });

  return {
    env: home.env,
    dataDir: home.dataDir,
    logFile: dataPaths(home.dataDir).daemonLog,
    machineId: up.info.machineId,
    context,
    client,
    docker,
    newNamespace(prefix) {
      const namespace = `${prefix}-${token}-${++count}`;
      namespaces.add(namespace);
      return namespace;
    },
    removeNamespace,
  };
}

/** Removes every container carrying `label=value` (the baselines' own containers). */
export async function removeLabelledContainers(docker: Docker, label: string, value: string): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  return list.length;
}
