import type { ServiceSpec } from "./manifest.ts";

/**
 * The container settings a service spec asks for beyond image, command, env, ports and its
 * volume and config binds: user, working directory, stop signal and grace period, healthcheck,
 * capabilities, read-only root, tmpfs, ulimits and external volumes — as the fields of Docker's
 * create-container body (`Config` and `HostConfig`). Pure, so every mapping is tested without a
 * dockerd; `startContainer` merges it into what it creates.
 */

/** Docker's create-container fields this mapping sets (a subset of dockerode's ContainerCreateOptions). */
export interface ContainerConfigFields {
  User?: string;
  WorkingDir?: string;
  StopSignal?: string;
  /** Seconds. */
  StopTimeout?: number;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
}

export interface ContainerHostConfigFields {
  CapAdd?: string[];
  CapDrop?: string[];
  ReadonlyRootfs?: boolean;
  Tmpfs?: Record<string, string>;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  Mounts?: Array<{ Type: "volume"; Source: string; Target: string; ReadOnly: boolean }>;
}

const NANOS_PER_MS = 1_000_000;

/** The Config and HostConfig fields for `spec`; fields the spec does not set are absent. */
export function containerOptions(spec: ServiceSpec): { config: ContainerConfigFields; hostConfig: ContainerHostConfigFields } {
  const config: ContainerConfigFields = {};
  const hostConfig: ContainerHostConfigFields = {};
  if (spec.user !== undefined) config.User = spec.user;
  if (spec.workingDir !== undefined) config.WorkingDir = spec.workingDir;
  if (spec.stopSignal !== undefined) config.StopSignal = spec.stopSignal;
  if (spec.stopGracePeriod !== undefined) config.StopTimeout = Math.ceil(spec.stopGracePeriod / 1000);
  if (spec.healthcheck !== undefined) {
    const { test, interval, timeout, retries, startPeriod } = spec.healthcheck;
    config.Healthcheck = {
      Test: test,
      ...(interval === undefined ? {} : { Interval: interval * NANOS_PER_MS }),
      ...(timeout === undefined ? {} : { Timeout: timeout * NANOS_PER_MS }),
      ...(retries === undefined ? {} : { Retries: retries }),
      ...(startPeriod === undefined ? {} : { StartPeriod: startPeriod * NANOS_PER_MS }),
    };
  }
  if (spec.capAdd !== undefined) hostConfig.CapAdd = spec.capAdd;
  if (spec.capDrop !== undefined) hostConfig.CapDrop = spec.capDrop;
  if (spec.readOnly !== undefined) hostConfig.ReadonlyRootfs = spec.readOnly;
  if (spec.tmpfs !== undefined && spec.tmpfs.length > 0) {
    hostConfig.Tmpfs = Object.fromEntries(
      spec.tmpfs.map((t) => [t.target, [t.size === undefined ? "" : `size=${t.size}`, t.mode === undefined ? "" : `mode=${t.mode.toString(8).padStart(4, "0")}`].filter(Boolean).join(",")]),
    );
  }
  if (spec.ulimits !== undefined) {
    hostConfig.Ulimits = Object.entries(spec.ulimits).flatMap(([Name, limit]) => (limit ? [{ Name, Soft: limit.soft, Hard: limit.hard }] : []));
  }
  const external = externalVolumeMounts(spec);
  if (external.length > 0) hostConfig.Mounts = external.map((v) => ({ Type: "volume", Source: v.name, Target: v.target, ReadOnly: v.readOnly }));
  return { config, hostConfig };
}

/** The existing Docker volumes a service mounts (external volumes), by their own names. */
export function externalVolumeMounts(spec: ServiceSpec): Array<{ name: string; target: string; readOnly: boolean }> {
  return spec.volumes.flatMap((v) => (v.type === "volume" && v.external !== undefined ? [{ name: v.external, target: v.target, readOnly: v.readOnly }] : []));
}
