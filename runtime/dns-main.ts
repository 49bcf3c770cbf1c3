import { hostClusterDns } from "../actors/dns/dns-host.ts";
import { serveDnsControl } from "../actors/dns/dns-control.ts";
import { dnsProcessConfigSchema, fromWire, toWire, wireProjectionSchema } from "../model/dns-process.ts";
import { emptyProjection, type RoutingProjection } from "../model/routing.ts";
import { createDocker } from "./docker.ts";
import { readJsonFile, writeFileAtomic } from "./files.ts";
import { createFileLogger, type Logger } from "./logger.ts";

/**
 * `ployzd dns --config FILE`: the cluster DNS as its own process. It serves the zone file's
 * projection from its first moment (the last one ployzd sent, kept across its own restarts), and
 * every projection ployzd sends on the control socket after that. It does not stop with ployzd;
 * SIGTERM stops it (`ployzctl dev down`, or ployzd when the config it wants differs). A socket
 * that fails ends it with a non-zero exit, for ployzd's supervision to start it again.
 */
export async function dnsProcessMain(configFile: string): Promise<void> {
  const config = readJsonFile(configFile, dnsProcessConfigSchema, "the DNS process config", "ployzd writes it at start; start ployzd again");
  if (!config) throw new Error(`no DNS process config at ${configFile}`);
  const log = createFileLogger(config.logFile, { process: "dns", pid: process.pid });
  const projection = readZone(config.zoneFile, log);
  let seq = projection.seq;

  const host = hostClusterDns({ host: config.host, port: config.port, upstream: config.upstream, ttl: config.ttl, docker: createDocker(), ...(config.bridge ? { bridge: config.bridge } : {}), clusterId: config.clusterId, log });
  host.apply(projection);
  const fatal = (what: string) => (error: unknown) => {
    log.fatal({ err: error }, `the DNS process stops: ${what}`);
    process.exit(1);
  };
  host.failed.catch(fatal("a DNS socket failed"));
  await host.listening.catch(fatal(`cannot listen on ${config.host}:${config.port}`));

  const control = await serveDnsControl(config.controlSocket, {
    status: () => ({ pid: process.pid, config, hosts: host.hosts(), seq }),
    async apply(next) {
      host.apply(next);
      seq = next.seq;
      // Kept for the next start of this process (a cache: ployzd sends the projection again anyway).
      writeFileAtomic(config.zoneFile, JSON.stringify(toWire(next)), 0o600, { durable: false });
    },
  }).catch(fatal(`cannot listen on its control socket ${config.controlSocket}`));
  log.info({ hosts: host.hosts(), port: config.port, seq }, "the cluster DNS listens");

  const stop = (signal: string) => {
    log.info({ signal }, "the DNS process stops");
    void Promise.allSettled([control?.close(), host.close()]).then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

/** The projection the zone file holds; none (or one that does not parse, said in the log) is empty. */
function readZone(file: string, log: Logger): RoutingProjection {
  try {
    const wire = readJsonFile(file, wireProjectionSchema, "the DNS zone file", "it is rewritten by the next projection ployzd sends");
    return wire ? fromWire(wire) : emptyProjection();
  } catch (error) {
    log.error({ err: error }, "the DNS zone file cannot be used: answering from an empty zone until ployzd sends the projection");
    return emptyProjection();
  }
}
