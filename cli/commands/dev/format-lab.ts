import type { DevLab } from "../../../runtime/dev-lab.ts";
import { table } from "../../output.ts";

/** The lab's machines, regions, contexts and where each one's gateway listens (inside its namespace). */
export function formatDevLab(lab: DevLab): string[] {
  const rows = lab.machines.map((m) => [
    m.name,
    m.region,
    m.pid === undefined ? "DOWN" : m.partitioned ? "PARTITIONED" : `up (pid ${m.pid})`,
    m.namespace,
    m.underlayIp,
    m.gateway ?? "-",
    m.gatewayHttps ?? "-",
    `--context ${m.context}`,
  ]);
  const roles = lab.regions.filter((r) => r.role).map((r) => `${r.name}=${r.role}`);
  return [
    ...table(["MACHINE", "REGION", "STATE", "NETNS", "UNDERLAY", "GATEWAY", "HTTPS", "CONTEXT"], rows).split("\n"),
    ...(roles.length ? [`region roles: ${roles.join(", ")}`] : []),
    "each machine's NATS, gateway and DNS listen inside its network namespace: `ployzctl --context dev-N …` (or --machine dev-N) enters it (root);",
    "  for anything else: nsenter --net=/run/netns/<NETNS> curl -H 'Host: <route hostname>' <GATEWAY>",
  ];
}
