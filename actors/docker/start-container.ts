import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { hasBinds, type HostPathRules } from "../../model/bind-policy.ts";
import { containerOptions } from "../../model/container-options.ts";
import { InvalidStateError } from "../../model/errors.ts";
import { LABELS, volumeName } from "../../model/instance.ts";
import type { ServiceSpec } from "../../model/manifest.ts";
import { shortHash } from "../../model/revision.ts";
import { DOCKER_DEFAULT_BRIDGE } from "../../model/workload-bridge.ts";
import { CLUSTER_ZONE } from "../../model/routing.ts";
import type { SecretReader } from "../../model/service-secrets.ts";
import { resolveBindMounts } from "./bind-mounts.ts";
import { translateDockerError } from "./containers.ts";
import { assertExternalVolumesExist } from "./external-volumes.ts";
import { writeMountFile } from "./mount-files.ts";
import { secretBinds } from "./secret-files.ts";

export interface ContainerIdentity {
  namespace: string;
  service: string;
  slot: number;
  revision: string;
  deployId: string;
  /** The cluster that manages it (two clusters may share one dockerd). */
  clusterId: string;
  /** The exact image to run (the spec's reference resolved when the deploy was planned). */
  imageId: string;
}

/** The container name of one instance: unique per deploy, so a replacement can run beside the old. */
export function containerName(id: ContainerIdentity): string {
  return `ployz-${id.namespace}-${id.service}-${id.slot}-${id.deployId.slice(0, 12)}`;
}

/** What starting a container needs besides Docker and the spec. */
export interface StartContainerExtras {
  /** Reads secret values from the cluster's secret store (needed when the service has secrets). */
  secrets?: SecretReader;
  /** This machine, named in errors. */
  machine?: string;
  /** What bind mounts are judged by (needed when the service has binds): the namespace's allowed directories as read for this start, and this machine's rules. */
  binds?: { allowed: readonly string[]; rules: HostPathRules };
  /** The Docker network to attach it to: the workload bridge's (absent: Docker's default bridge). */
  network?: string;
}

/**
 * Creates and starts one instance's container, labelled so it can always be traced back to its
 * cluster, namespace, service, slot, revision and deploy. Configs and secrets become read-only
 * files under `configDir`; the spec's container settings come from `containerOptions`; bind
 * mounts are resolved to their real paths and judged by the bind policy last before
 * `beforeCreate`. `beforeCreate` runs right before Docker is asked to create it (the fencing
 * check: nothing slow may come between it and the Docker call).
 */
export async function startContainer(
  docker: Docker,
  id: ContainerIdentity,
  spec: ServiceSpec,
  configDir: string,
  dns: { server: string } | undefined,
  beforeCreate: () => Promise<void>,
  extras: StartContainerExtras = {},
): Promise<{ containerId: string; containerName: string; address?: string }> {
  const name = containerName(id);
  if (hasBinds([spec]) && !extras.binds) throw new InvalidStateError(`${name} has bind mounts, but no bind policy was read for it`);
  const binds: string[] = [];
  for (const volume of spec.volumes) {
    if (volume.type === "bind") continue; // resolved and judged right before the create
    if (volume.external !== undefined) continue; // mounted by containerOptions, by its own name
    await ensureVolume(docker, id, volume.source);
    binds.push(`${volumeName(id.namespace, volume.source)}:${volume.target}${volume.readOnly ? ":ro" : ""}`);
  }
  if (spec.configs.length > 0) {
    const dir = join(configDir, id.namespace, id.deployId, `${id.service}-${id.slot}`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const config of spec.configs) {
      const file = join(dir, shortHash(config.target, 16));
      writeMountFile(file, config.content, config);
      binds.push(`${file}:${config.target}:ro`);
    }
  }
  await assertExternalVolumesExist(docker, spec, extras.machine ?? "this machine");
  binds.push(...(await secretBinds(join(configDir, id.namespace, id.deployId, `${id.service}-${id.slot}`, "secrets"), id.namespace, spec, extras.secrets)));
  const options = containerOptions(spec);
  const exposed: Record<string, object> = {};
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of spec.ports) {
    const key = `${port.container}/${port.protocol}`;
    exposed[key] = {};
    if (port.published) portBindings[key] = [{ HostIp: "127.0.0.1", HostPort: String(port.published) }];
  }
  const labels: Record<string, string> = {
    ...spec.labels,
    [LABELS.managed]: "true",
    [LABELS.cluster]: id.clusterId,
    [LABELS.namespace]: id.namespace,
    [LABELS.service]: id.service,
    [LABELS.slot]: String(id.slot),
    [LABELS.revision]: id.revision,
    [LABELS.deploy]: id.deployId,
    [LABELS.image]: spec.image,
  };
  // Last before the create, and Docker gets the real path judged here: only a link swapped into
  // that path in the window of one Docker call could move it.
  const bindMounts = extras.binds ? await resolveBindMounts(spec, { namespace: id.namespace, service: id.service, machine: extras.machine ?? "this machine", ...extras.binds }) : [];
  const mounts = [...(options.hostConfig.Mounts ?? []), ...bindMounts];
  await beforeCreate();
  try {
    const container = await docker.createContainer({
      name,
      Image: id.imageId,
      ...(spec.command ? { Cmd: spec.command } : {}),
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: labels,
      ExposedPorts: exposed,
      ...options.config,
      HostConfig: {
        ...options.hostConfig,
        ...(mounts.length > 0 ? { Mounts: mounts } : {}),
        // PID 1 shells ignore SIGTERM: an init makes stops graceful and quick.
        Init: true,
        RestartPolicy: { Name: spec.restart === "no" ? "" : spec.restart },
        PortBindings: portBindings,
        Binds: binds,
        ...(extras.network && extras.network !== DOCKER_DEFAULT_BRIDGE.network ? { NetworkMode: extras.network } : {}),
        // `<service>` resolves within the namespace, `<service>.<ns>.ployz.internal` anywhere.
        ...(dns ? { Dns: [dns.server], DnsSearch: [`${id.namespace}.${CLUSTER_ZONE}`] } : {}),
        ...(spec.resources.memory ? { MemoryReservation: spec.resources.memory } : {}),
        ...(spec.resources.cpu ? { CpuShares: Math.max(2, Math.round(spec.resources.cpu * 1024)) } : {}),
      },
    });
    await container.start();
    const info = await container.inspect();
    const address = Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
    return { containerId: info.Id, containerName: name, ...(address ? { address } : {}) };
  } catch (error) {
    // Nothing half-made stays behind: a container that was created but did not start is removed.
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    throw translateDockerError(error, `starting ${name} from ${spec.image}`);
  }
}

/** Creates the namespace's named volume if it is not there yet, labelled like the containers. */
async function ensureVolume(docker: Docker, id: ContainerIdentity, volume: string): Promise<void> {
  try {
    await docker.createVolume({
      Name: volumeName(id.namespace, volume),
      Labels: { [LABELS.managed]: "true", [LABELS.cluster]: id.clusterId, [LABELS.namespace]: id.namespace, "ployz.volume": volume },
    });
  } catch (error) {
    throw translateDockerError(error, `volume ${volumeName(id.namespace, volume)}`);
  }
}
