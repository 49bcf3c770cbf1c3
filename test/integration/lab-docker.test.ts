import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLab, sweepLabs, type Lab } from "../../runtime/lab/index.ts";
import { declareStore, type Store } from "../../runtime/store.ts";
import { eventually } from "../harness/daemon.ts";
import { BUSYBOX_IMAGE, execIn } from "../harness/docker.ts";
import { disposeMeshLab, registerLabMachine, startLabMeshPeer, type MeshPeerActor } from "../harness/lab-mesh.ts";
import { startTestNats, type TestNats } from "../harness/nats.ts";

/**
 * Each lab machine runs its own dockerd (in its namespace, bridge on its workload subnet) and gets
 * the busybox image by `docker save | docker load`; with the real meshPeer, a container on m1
 * fetches HTTP from a container on m2 by its address, over WireGuard.
 */

const BUILD_BUSYBOX = fileURLToPath(new URL("../../scripts/build-busybox-image.sh", import.meta.url));

let nats: TestNats | undefined;
let nc: NatsConnection;
let store: Store;
let lab: Lab | undefined;
const peers: MeshPeerActor[] = [];

async function run(docker: Docker, name: string, cmd: string[]): Promise<{ id: string; ip: string }> {
  const container = await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Cmd: cmd, HostConfig: { Init: true } });
  await container.start();
  const info = await container.inspect();
  return { id: info.Id, ip: info.NetworkSettings.Networks.bridge!.IPAddress };
}

beforeAll(async () => {
  await sweepLabs();
  nats = await startTestNats();
  nc = await nats.connect();
  store = await declareStore(nc, { replicas: 1, declaredBy: "test" });
  lab = await createLab({ machines: 2 });
  // No registry: build the image in m1's own dockerd, then copy it into the others.
  execFileSync("bash", [BUILD_BUSYBOX], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DOCKER_HOST: `unix://${lab.machine(1).dockerSocket}` } });
  await lab.loadImages(lab.machine(1).docker!, [BUSYBOX_IMAGE]);
  const meshed = [await registerLabMachine(store.kv.machines, lab.machine(1)), await registerLabMachine(store.kv.machines, lab.machine(2))];
  for (const m of meshed) peers.push(startLabMeshPeer(nc, store.kv.machines, m));
}, 120_000);

afterAll(async () => await disposeMeshLab(peers, lab, nats), 60_000);

describe("containers on two lab machines", () => {
  it("each machine's dockerd has the image and its bridge on its workload subnet", async () => {
    for (const machine of lab!.machines) {
      expect((await machine.docker!.getImage(BUSYBOX_IMAGE).inspect()).Id).toMatch(/^sha256:/);
      const bridge = await machine.docker!.getNetwork("bridge").inspect();
      expect(bridge.IPAM?.Config?.[0]?.Subnet).toBe(machine.subnet);
    }
  });

  it("a container on m1 fetches HTTP from a container on m2 by its address, over WireGuard, unmasqueraded", async () => {
    const server = await run(lab!.machine(2).docker!, "web", ["sh", "-c", "echo hello-from-m2 > /var/www/index.html && exec httpd -f -v -p 8080 -h /var/www"]);
    expect(server.ip.startsWith("10.210.2.")).toBe(true);
    const client = await run(lab!.machine(1).docker!, "client", ["sleep", "3600"]);
    await eventually(async () => (peers.every((p) => p.getSnapshot().context.applied.length === 1) ? true : undefined), "both meshPeers to hold their peer");
    // busybox nc, not wget: the static busybox's wget crashed (exit 139) over the overlay while nc and httpd work.
    const fetch = () => execIn(lab!.machine(1).docker!, client.id, ["sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${server.ip} 8080`]);
    const fetched = await eventually(async () => {
      const result = await fetch();
      return result.code === 0 && result.output.includes("200 OK") ? result.output : undefined;
    }, "HTTP from m1's container to m2's");
    expect(fetched).toContain("hello-from-m2");
    // It arrived from the client container's own address: no masquerading on the overlay.
    const log = (await lab!.machine(2).docker!.getContainer(server.id).logs({ stdout: true, stderr: true })).toString();
    expect(log).toContain(`:${client.ip}]:`);

    // Partitioned, the fetch fails; healed, it works again.
    await lab!.partition(2);
    try {
      const cut = await fetch();
      expect(cut.output).not.toContain("hello-from-m2");
    } finally {
      await lab!.heal(2);
    }
    await eventually(async () => {
      const result = await fetch();
      return result.output.includes("hello-from-m2") ? true : undefined;
    }, "HTTP after the heal");
  }, 90_000);
});
