import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type Docker from "dockerode";
import type { Logger } from "pino";
import { planDnsAddress, type DnsAddress } from "../../model/dns-address.ts";
import type { WorkloadBridge } from "../../model/workload-bridge.ts";
import { observeBridge } from "./bridge-address.ts";

/**
 * Where the cluster DNS listens in this run of ployzd: derived again at every start from the
 * workload bridge as it is now (`planDnsAddress`), the port kept from the first start. `--dns-port 0`
 * picks a port that is free for UDP and TCP alike.
 */
export async function dnsAddressAtStart(docker: Docker, saved: DnsAddress | undefined, requestedPort: number | undefined, log: Logger, workloadBridge?: WorkloadBridge): Promise<DnsAddress> {
  const bridge = await observeBridge(docker, workloadBridge);
  const plan = planDnsAddress(saved, bridge.address, requestedPort);
  if (plan.moved) log.warn({ host: plan.host, was: saved?.host }, `the cluster DNS moves: ${plan.moved}`);
  if (!bridge.address) log.warn({ why: bridge.why }, "no Docker bridge: the cluster DNS listens on loopback until the bridge appears");
  return { host: plan.host, port: plan.port === "free" ? await freeDnsPort(plan.host) : plan.port };
}

/** A port on `host` that is free for UDP and for TCP at this moment. */
export async function freeDnsPort(host: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket(host.includes(":") ? "udp6" : "udp4");
    const port = await new Promise<number>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind({ port: 0, address: host, exclusive: true }, () => resolve(udp.address().port));
    });
    let tcpFree: boolean;
    try {
      tcpFree = await new Promise<boolean>((resolve, reject) => {
        const server = createServer();
        server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error)));
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
      });
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
    if (tcpFree) return port;
    if (attempt >= 20) throw new Error(`found no port on ${host} free for both UDP and TCP in 20 attempts`);
  }
}
