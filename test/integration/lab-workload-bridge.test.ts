import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPaths } from "../../runtime/paths.ts";
import { isAlive } from "../../runtime/process.ts";
import { eventually } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE } from "../harness/docker.ts";
import { labTestSession } from "../harness/lab-cluster.ts";

/**
 * The workload bridge on a machine whose dockerd was not started on its workload subnet (no
 * `--bip`, docker0 on 172.17.0.0/16 as on a real machine): m1 founds the cluster that way, and its
 * ployzd makes the `ployz` bridge network (`ployzbr0`) on its subnet; m2's dockerd has `--bip`, so
 * docker0 stays its workload bridge and no network is made. Containers on each reach the other's
 * by address and by cluster DNS name, over the overlay.
 */

const lab = labTestSession({ regions: ["eu", "eu"], withoutBip: [1], run: ["--reconcile-interval-ms", "2000", "--drain-ms", "200"] });
const { home, machineOf, manifest, deployVia, instances, fetchFrom } = lab;

// The lab's dockerd, with the `ployz` network in its data root, and the namespace holding ployzbr0 go with the lab.
beforeAll(lab.setup, 300_000);
afterAll(lab.teardown, 120_000);

async function addressOf(machine: string, containerId: string): Promise<{ network: string; address: string }> {
  const info = await machineOf(machine).docker!.getContainer(containerId).inspect();
  const [network, settings] = Object.entries(info.NetworkSettings.Networks ?? {})[0]!;
  return { network, address: settings.IPAddress };
}

describe("the workload bridge when dockerd is not on the workload subnet", () => {
  it("m1's ployzd made the ployz network on its subnet beside docker0; m2 (--bip) has none", async () => {
    const m1 = machineOf("m1");
    const bridge = await m1.docker!.getNetwork("bridge").inspect();
    expect(bridge.IPAM?.Config?.[0]?.Subnet).toBe("172.17.0.0/16");
    const ployz = await m1.docker!.getNetwork("ployz").inspect();
    expect(ployz.Name).toBe("ployz");
    expect(ployz.IPAM?.Config?.[0]).toMatchObject({ Subnet: m1.subnet, Gateway: m1.subnet.replace(/0\/24$/, "1") });
    expect(ployz.Options?.["com.docker.network.bridge.name"]).toBe("ployzbr0");
    const link = await m1.commands.run(["ip", "-4", "-o", "addr", "show", "dev", "ployzbr0"]);
    expect(link).toContain(`${m1.subnet.replace(/0\/24$/, "1")}/24`);

    const m2 = machineOf("m2");
    expect((await m2.docker!.getNetwork("bridge").inspect()).IPAM?.Config?.[0]?.Subnet).toBe(m2.subnet);
    expect((await m2.docker!.listNetworks({ filters: { name: ["ployz"] } })).filter((n) => n.Name === "ployz")).toEqual([]);
  });

  it("a container deployed on m1 gets an address in m1's workload subnet, and m2's agent fetches from it by address and by DNS name (and back)", async () => {
    const spec = {
      namespace: "bridged",
      services: {
        web: {
          image: BUSYBOX_IMAGE,
          command: ["/bin/sh", "-c", `mkdir -p /www && echo "web $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www`],
          ports: [{ container: 8080 }],
          mode: "global",
          readiness: { type: "http", port: 8080, path: "/" },
          resources: { memory: "16Mi" },
        },
        agent: { image: BUSYBOX_IMAGE, command: ["sleep", "86400"], mode: "global", resources: { memory: "8Mi" } },
      },
    };
    const deployed = await deployVia("m1", manifest("bridged", spec));
    expect(deployed.code, deployed.stderr).toBe(0);
    const all = await instances("bridged");
    const web = (m: string) => all.find((i) => i.service === "web" && i.machine === m)!;
    const agent = (m: string) => all.find((i) => i.service === "agent" && i.machine === m)!;

    const m1web = await addressOf("m1", web("m1").containerId);
    expect(m1web.network).toBe("ployz");
    expect(m1web.address.startsWith(machineOf("m1").subnet.replace(/0\/24$/, ""))).toBe(true);
    const m2web = await addressOf("m2", web("m2").containerId);
    expect(m2web.network).toBe("bridge");
    expect(m2web.address.startsWith(machineOf("m2").subnet.replace(/0\/24$/, ""))).toBe(true);

    const m1page = `web ${web("m1").containerId.slice(0, 12)}`;
    const byAddress = await eventually(async () => {
      const result = await fetchFrom("m2", agent("m2").containerId, m1web.address);
      return result.code === 0 && result.output.includes("200 OK") ? result.output : undefined;
    }, "m2's agent to fetch m1's web by address");
    expect(byAddress).toContain(m1page);
    const name = `${web("m1").slot}.web.bridged.ployz.internal`;
    const byName = await eventually(async () => {
      const result = await fetchFrom("m2", agent("m2").containerId, name);
      return result.code === 0 && result.output.includes("200 OK") ? result.output : undefined;
    }, `m2's agent to fetch ${name}`);
    expect(byName).toContain(m1page);

    // From m1's container on the ployz network: its resolver is ployzbr0's address.
    const m1agent = await machineOf("m1").docker!.getContainer(agent("m1").containerId).inspect();
    expect(m1agent.HostConfig.Dns).toEqual([machineOf("m1").subnet.replace(/0\/24$/, "1")]);
    const back = `${web("m2").slot}.web.bridged.ployz.internal`;
    const fromM1 = await eventually(async () => {
      const result = await fetchFrom("m1", agent("m1").containerId, back);
      return result.code === 0 && result.output.includes("200 OK") ? result.output : undefined;
    }, `m1's agent to fetch ${back}`);
    expect(fromM1).toContain(`web ${web("m2").containerId.slice(0, 12)}`);
  }, 180_000);

  it("m1's ployzd, started again, adopts the ployz network it made (same network, containers keep their addresses)", async () => {
    const m1 = machineOf("m1");
    const before = await m1.docker!.getNetwork("ployz").inspect();
    const paths = dataPaths(home("m1").dataDir);
    const pid = Number(readFileSync(paths.daemonPid, "utf8").trim());
    process.kill(pid, "SIGTERM");
    await eventually(async () => (isAlive(pid) ? undefined : true), "m1's ployzd to stop");
    await home("m1").start([]);
    const after = await m1.docker!.getNetwork("ployz").inspect();
    expect(after.Id).toBe(before.Id);
    const log = readFileSync(paths.daemonLog, "utf8");
    expect(log).toContain("holds the workload subnet");
    expect(log).toContain("(adopted)");
    const web = (await instances("bridged")).find((i) => i.service === "web" && i.machine === "m1")!;
    expect((await addressOf("m1", web.containerId)).network).toBe("ployz");
  }, 120_000);
});
